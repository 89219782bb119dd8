"""(placeholder: primitives for convolution and pooling)."""
