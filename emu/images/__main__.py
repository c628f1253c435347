"""python -m emu.images: the same as the pyemu-images command."""
import sys

from .cli import main

sys.exit(main())
