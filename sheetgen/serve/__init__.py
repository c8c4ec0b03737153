"""``sheetgen serve``: learners check their own sheet in a browser; a teacher collects a class.

A thin web layer over what ``verify`` and ``grade`` already do, in modules with one job each:

- ``config``  the server's settings (:class:`~sheetgen.serve.config.ServeConfig`);
- ``work``    what a worker process does: verify an upload (its grid, its feedback copy), grade
  the class;
- ``grid``    the learner's sheet as a grid of cells, each with its verdict;
- ``pool``    the worker processes: per-check time and memory limits, a bounded queue;
- ``storage`` collect mode's submissions: files named by the server, a SQLite index;
- ``guard``   upload cap, CSP and other headers, CSRF, the teacher's token, rate limits;
- ``routes``  the Starlette application: pages (Jinja ``templates/``) and their JSON twins;
- ``run``     the address checked, then uvicorn until interrupted.

Starlette, uvicorn, python-multipart and Jinja2 are the ``serve`` extra; nothing else in the
package imports this folder.

May import: ``sheetgen.teacher`` and everything below it; only ``sheetgen.cli`` sits above.
"""
