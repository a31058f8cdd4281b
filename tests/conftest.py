import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import torch  # noqa: E402

# CI has 2 cores; keep torch from oversubscribing them while Qt paints.
torch.set_num_threads(2)
