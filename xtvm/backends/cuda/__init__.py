"""CUDA backend: code and libraries for NVIDIA GPUs (the runtime is xtvm.runtime.cuda)."""
