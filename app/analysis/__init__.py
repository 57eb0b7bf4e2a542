"""The analysis service between the routes and :mod:`app.screening`: what ``/api/fit``, ``/api/gr``,
``/api/timecourse`` and the reports compute beyond the Hill fit (issue 16).

Modules: ``wells`` (a curve's wells, their roles and plates, % viability), ``potency`` (censored IC50,
IC_x, Emax/Einf, AAC, DSS), ``outlier_review`` (the ROUT-like test with wells the user re-included),
``plate_qc`` (Z′, SSMD, edge effect per plate), ``growth`` (GR values and metrics), ``service`` (one
batch: fits and blocks per curve), ``reports`` (the report's curves), ``endpoints`` (the GR and time-course
endpoints' bodies). Nothing here knows HTTP: bad data raise the errors of :mod:`app.fitting`.
"""
