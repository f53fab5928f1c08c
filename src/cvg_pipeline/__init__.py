"""cvg-pipeline: the monthly reporting files of the ACI turned into the CVG / PHC indicators and reports."""

__version__ = "0.1.0"
