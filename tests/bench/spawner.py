#!/usr/bin/python3
"""spawner.py - what Postfix's spawn(8) does, for the benchmark's peers:
accept connections on a UNIX socket and run one command per connection
with the connection as its standard input and output.

    spawner.py --socket PATH --stats FILE -- /usr/bin/policyd-spf CONF

On SIGTERM: kill the children, reap them, and write to FILE the CPU
seconds (user + system) all children used and how many were started.
Prints "ready" once listening.
"""
import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import threading

children = {}
lock = threading.Lock()
cpu = [0.0]
started = [0]


def reaper():
    while True:
        try:
            pid, _, ru = os.wait4(-1, 0)
        except ChildProcessError:
            threading.Event().wait(0.05)
            continue
        with lock:
            cpu[0] += ru.ru_utime + ru.ru_stime
            children.pop(pid, None)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--socket', required=True)
    ap.add_argument('--stats', required=True)
    ap.add_argument('cmd', nargs='+')
    args = ap.parse_args()
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    srv = socket.socket(socket.AF_UNIX)
    srv.bind(args.socket)
    srv.listen(4096)

    def stop(signum, frame):
        with lock:
            pids = list(children)
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        # the reaper thread collects them; wait until it has
        for _ in range(200):
            with lock:
                if not children:
                    break
            threading.Event().wait(0.05)
        with open(args.stats, 'w') as f:
            json.dump({'cpu_seconds': cpu[0], 'spawned': started[0]}, f)
        os._exit(0)

    signal.signal(signal.SIGTERM, stop)
    threading.Thread(target=reaper, daemon=True).start()
    print('ready', flush=True)
    while True:
        conn, _ = srv.accept()
        try:
            p = subprocess.Popen(args.cmd, stdin=conn, stdout=conn,
                                 stderr=subprocess.DEVNULL, close_fds=True)
        except OSError as e:
            print('spawner: %s' % e, file=sys.stderr)
            conn.close()
            continue
        with lock:
            children[p.pid] = p     # kept: no Popen cleanup reaps it
            started[0] += 1
        conn.close()


if __name__ == '__main__':
    main()
