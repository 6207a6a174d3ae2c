"""The models behind small interfaces: the LLM backends (llm.py), the ONNX span reader and its
shipped weights (reader.py, reader_model/), the span scorer, the refusal model (refusal.py,
refusal_model.json) and the prompt files' renderer (prompts.py).
"""
