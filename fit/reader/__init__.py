"""Training the span-and-no-answer reader (rag/models/reader.py) on public SQuAD data.

- windows.py: the pipeline's reading unit (a sentence with the one before it), and answer locating;
- examples.py: one epoch's (question, window) pairs: positives, negatives from other windows, and
  the real unanswerable questions of SQuAD 2.0;
- tokens.py: tokenisation of an epoch, cached on disk;
- train.py: length-bucketed, resumable training;
- score.py: paragraph-level scores (official EM/F1, the margin's AUC, the best threshold);
- export.py: ONNX export and dynamic int8;
- run.py: ``python -m fit.reader``, the whole run and its report.json.
"""
