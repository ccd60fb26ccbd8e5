"""The Ms the session-32 probes compare, by name: ``v4`` (M v4 as shipped), ``v5`` (M v5 as shipped) or a dreamer
directory, which dreams behind M v4's reader (ReadMDNRNN.from_pair) as M v5's dreamer does."""

from gdl_studio.racing.mdn_rnn import ReadMDNRNN
from gdl_studio.racing.models_io import load_dir


def load_dreamer(spec: str):
    """The M named by ``spec``, in eval mode."""
    reader = load_dir("models/carracing-mdnrnn-v4")
    if spec == "v4":
        return reader.eval()
    if spec == "v5":
        return load_dir("models/carracing-mdnrnn-v5").eval()
    return ReadMDNRNN.from_pair(reader, load_dir(spec)).eval()
