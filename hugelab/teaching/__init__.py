"""The course's logic, with no widgets: the notebooks' questions (``lessons``, ``predict``,
``explain``), generated exercises (``exercise``), walk-throughs, the split explorer's history and
views (``explorer``, ``explorer_views``), the notebooks' helpers (``notebook``) and ``hugelab lab``
(``lab``), which copies the course and opens it."""
