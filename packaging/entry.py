"""Entry point of the frozen GDL Studio (PyInstaller runs this as ``__main__``).

``multiprocessing.freeze_support()`` comes first: the fine-tuning runner starts its training
process with the ``spawn`` method, which in a frozen app re-runs this executable with
multiprocessing's own arguments; ``freeze_support()`` turns such a run into the child and exits.
"""

import multiprocessing
import sys

if __name__ == "__main__":
    multiprocessing.freeze_support()
    from gdl_studio.cli import main

    sys.exit(main())
