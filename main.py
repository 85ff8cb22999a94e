"""python-for-android starts the app from ``main.py`` at the top of ``source.dir`` (buildozer.spec)."""

from mobile.main import main

main()
