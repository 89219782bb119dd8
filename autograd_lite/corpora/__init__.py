"""Text corpora shipped with autograd_lite, read as package resources.

``tiny_corpus.txt`` is a short text about neural networks (about 8 KB) that the
character-level language model example and tutorial learn from::

    from importlib import resources
    text = resources.files("autograd_lite.corpora").joinpath("tiny_corpus.txt").read_text(encoding="utf-8")

(Datasets and loaders for training are in :mod:`autograd_lite.utils.data`.)
"""
