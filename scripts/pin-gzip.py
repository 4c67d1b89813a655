#!/usr/bin/env python3
# Issue 11, defect 4: N clients each pipeline 100 GETs of a text file with
# Accept-Encoding: gzip and never read; prints the server's resident memory before,
# at its peak, per connection, and after the clients close.
# Usage: scripts/pin-gzip.py PORT SERVER_PID [CLIENTS=50] [ACCEPT_ENCODING=gzip]
# (the server must serve /big.txt: e.g. a 1.2 MB text file under its root)
import socket, sys, time, os
port=int(sys.argv[1]); pid=int(sys.argv[2]); nclients=int(sys.argv[3]) if len(sys.argv)>3 else 50
gz = sys.argv[4] if len(sys.argv)>4 else 'gzip'
def rss():
    for l in open(f'/proc/{pid}/status'):
        if l.startswith('VmRSS'): return int(l.split()[1])
base=rss()
req=(f"GET /big.txt HTTP/1.1\r\nHost: x\r\nAccept-Encoding: {gz}\r\n\r\n").encode()*100
socks=[]
for i in range(nclients):
    s=socket.create_connection(('127.0.0.1',port))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.sendall(req); socks.append(s)
peak=base
for t in range(30):
    time.sleep(0.2); peak=max(peak,rss())
print(f"base {base} KiB, peak {peak} KiB, per conn {(peak-base)/nclients:.0f} KiB")
for s in socks: s.close()
time.sleep(2)
print(f"after close {rss()} KiB")
