# tests/lib/gbtest/net.py: loopback ports chosen at run time, and waiting
# for a listener.

import random
import socket
import time


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def free_ports(n):
    """n distinct free ports: all are held until all are chosen."""
    socks = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def quiet_port():
    """A free loopback port below the kernel's ephemeral range: a daemon
    restarted many times must find its port free, and an ephemeral port
    may meanwhile be taken by any outgoing connection on the machine."""
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            low = int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return free_port()
    for _ in range(200):
        port = random.randrange(10000, max(low, 10001))
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind(("127.0.0.1", port))
            return port
        except OSError:
            continue
        finally:
            s.close()
    return free_port()


def listening(port, timeout=1):
    try:
        socket.create_connection(("127.0.0.1", port), timeout).close()
        return True
    except OSError:
        return False


def wait_listening(ports, alive=lambda: True, timeout=30, step=0.02):
    """True once every port accepts a connection; False if alive() turns
    false or the time runs out."""
    deadline = time.time() + timeout
    for port in ports:
        while not listening(port):
            if not alive() or time.time() > deadline:
                return False
            time.sleep(step)
    return True
