"""The scripts that train and fit the shipped models and settings on public data.

Above eval/ in the layer rule (eval/ < fit/ < ui/, bench/): they use the eval suite's SQuAD reader,
metrics and sets, and write what the pipeline ships (rag/models/reader_model/, rag/models/refusal_model.json,
eval/sets/*_report.json). `brief ask` never imports this package.

- ``python -m fit.split``: the by-article split of the public SQuAD 2.0 dev articles.
- ``python -m fit.reader``: the span-and-no-answer reader (rag/models/reader.py).
- ``python -m fit.reader_curve``: a learning curve from the reader's checkpoints.
- ``python -m fit.refusal``: when to refuse and when to show a short answer (rag/models/refusal.py).
- ``python -m fit.span``, ``fit.gate``, ``fit.compare``, ``fit.calibrate``, ``fit.support_pairs``:
  the span scorer, the grid gate, the re-fit noise check, the verifier and its public pairs.
"""
