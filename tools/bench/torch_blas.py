"""The BLAS library this process's torch loaded, for the bench scripts to
print: Debian's torch uses whatever libblas.so.3 points to, OpenBLAS or the
netlib reference that is many times slower and would flatter every ratio."""
import os


def blas():
    libs = set()
    for line in open("/proc/self/maps"):
        name = line.split()[-1]
        if "blas" in name.lower():
            libs.add(os.path.realpath(name))
    return sorted(libs)
