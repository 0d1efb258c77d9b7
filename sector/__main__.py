import sys

from sector.cli import main

sys.exit(main())
