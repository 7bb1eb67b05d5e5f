# /srv/app/app.py: a WSGI application for the gunicorn and uwsgi recipes.
# "/" says who connected; "/stream?N" sends N lines, one every 0.2 s (a
# long response, to see that a key rotation does not cut it).
import time


def application(environ, start_response):
    if environ["PATH_INFO"] == "/stream":
        n = int(environ.get("QUERY_STRING") or "20")
        start_response("200 OK", [("Content-Type", "text/plain")])
        return stream(n)
    server = "uWSGI" if "uwsgi.version" in environ else environ.get("SERVER_SOFTWARE", "wsgi").split("/")[0]
    body = ("hello from %s, REMOTE_ADDR=%s\n" % (server, environ.get("REMOTE_ADDR"))).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]


def stream(n):
    for i in range(n):
        yield b"line %d\n" % i
        time.sleep(0.2)
    yield b"end of stream\n"
