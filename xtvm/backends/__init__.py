"""Code generators: turn lowered IR into something that runs (only LLVM for now)."""
