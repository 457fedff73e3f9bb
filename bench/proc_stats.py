"""What the Python benchmark drivers read about a process and a C bench
tool: CPU seconds and memory from /proc, and the `key value` lines the
C tools print."""
import os


def cpu_s(pid):
    """User + system CPU seconds the process has used so far."""
    f = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(f[11]) + int(f[12])) / os.sysconf("SC_CLK_TCK")


def status_kib(pid, key="VmRSS"):
    """A /proc/PID/status figure in KiB (VmRSS, VmHWM, ...), -1 when absent."""
    for line in open("/proc/%d/status" % pid):
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return -1


def fields(out):
    """The `key value` lines of a C bench tool's output, as a dict."""
    d = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) == 2:
            d[parts[0]] = parts[1]
    return d
