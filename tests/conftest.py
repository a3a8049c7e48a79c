import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

# Every command records its run in a history database: the tests' runs go to one of their
# own (per test process), never to the user's ~/.local/share/optimiser/history.db.
os.environ.setdefault("OPTIMISER_DB", f"sqlite:///{tempfile.mkdtemp(prefix='optimiser-history-')}/history.db")
