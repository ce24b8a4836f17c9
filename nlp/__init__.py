"""nlp: jieba tokenisation, keyword rules, complaint classifier, urgency, evaluation and mining.

Light on purpose: importing ``nlp`` loads nothing; jieba and the rules load on first use
(``Classifier.default()``).  Runtime code here never imports scikit-learn.
"""
