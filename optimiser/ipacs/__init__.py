"""IPACS: read the workbook analysts keep (``IPACS_params.xlsx``), run its two models (beds for
pathways 2 and 3, visits for pathway 1) as IPACS does (``compat``) or as it means to
(``textbook``), write its output files, and convert it into a patient-level snapshot."""
