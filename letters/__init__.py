"""Letters: PIN letter requests, rendering in the Celery worker, the print queue and the print shop."""
