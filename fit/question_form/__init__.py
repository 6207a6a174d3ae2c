"""Fitting the question-form classifier (rag/questions/question_form.py): factoid, descriptive, timeline, comparison.

- guide.py: what each form means, and the rules that label SQuAD's fitting questions by it;
- data.py: the labelled set eval/sets/question_forms.jsonl and its split by topic;
- model.py: logistic regression over word n-grams, C and the written rows' weight chosen by grouped
  cross-validation on the fitting part;
- run.py: ``python -m fit.question_form``, writing rag/questions/question_form_model.json and
  eval/sets/question_form_report.json.
"""
