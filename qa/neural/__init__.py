"""The models: the encoder (embedding), the span reader (reader), their ONNX Runtime backend (onnx), and embedding on a Ray cluster (distributed)."""
