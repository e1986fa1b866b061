"""Tables measured on Linux 6.18.44 with 2 MB huge pages, as traces (test_kernel.py measures them again).

Each entry: the trace, then one expected ``T/F/R/S`` (and outcome, when not
ok) per operation line. Tables K-P and R-T need files, SysV shm, mremap or
unaligned addresses, which trace v1 cannot say.
"""

TABLES = {
    "A": ("""
pool 8
mmap a 4 private
touch a 0
munmap a 1 1
touch a 3
munmap a 0 1
munmap a 2 2
""", ["8/8/0/0", "8/8/4/0", "8/7/3/0", "8/7/2/0", "8/6/1/0", "8/7/1/0", "8/8/0/0"]),
    "A2": ("""
pool 8
mmap a 4 private
touch a 0
munmap a 1 1
munmap a 0 4
""", ["8/8/0/0", "8/8/4/0", "8/7/3/0", "8/7/2/0", "8/8/0/0"]),
    "B": ("""
pool 8
mmap a 4 private
touch a 0
mprotect a 1 1 r
touch a 1 read
touch a 2
munmap a 3 1
munmap a 1 1
munmap a 0 4
""", ["8/8/0/0", "8/8/4/0", "8/7/3/0", "8/7/3/0", "8/6/2/0", "8/5/1/0", "8/5/0/0", "8/6/0/0", "8/8/0/0"]),
    "C": ("""
pool 8
mmap a 2 private
touch a 0
madvise a 0 1 dontneed
touch a 0
munmap a 0 2
""", ["8/8/0/0", "8/8/2/0", "8/7/1/0", "8/8/2/0", "8/7/1/0", "8/8/0/0"]),
    "D": ("""
pool 8
mmap a 4 private
touch a 0
fork c
in c touch a 0 read
in c touch a 0
in c touch a 1
exit c
touch a 0
touch a 1
munmap a 0 4
""", ["8/8/0/0", "8/8/4/0", "8/7/3/0", "8/7/3/0", "8/7/3/0", "8/6/3/0", "8/5/3/0", "8/7/3/0",
      "8/7/3/0", "8/6/2/0", "8/8/0/0"]),
    "E": ("""
pool 8
mmap a 4 private
touch a 0
fork c
touch a 0
touch a 2
in c touch a 0 read
exit c
munmap a 0 4
""", ["8/8/0/0", "8/8/4/0", "8/7/3/0", "8/7/3/0", "8/6/3/0", "8/5/2/0", "8/5/2/0", "8/6/2/0", "8/8/0/0"]),
    "F": ("""
pool 2
mmap a 2 private
touch a 0
fork c
touch a 0
in c touch a 0 read
exit c
munmap a 0 2
""", ["2/2/0/0", "2/2/2/0", "2/1/1/0", "2/1/1/0", "2/1/1/0", "2/1/1/0 SIGBUS", "2/1/1/0 skipped",
      "2/2/0/0"]),
    "G": ("""
pool 4
mmap a 5 private
mmap b 3 private
mmap c 2 private
mmap d 1 private
munmap b 0 3
munmap d 0 1
""", ["4/4/0/0", "4/4/0/0 ENOMEM", "4/4/3/0", "4/4/3/0 ENOMEM", "4/4/4/0", "4/4/1/0", "4/4/0/0"]),
    "H": ("""
pool 4
mmap n 6 private noreserve
touch n 0
mmap r 3 private
fork c
in c touch n 1
munmap r 0 3
fork d
in d touch n 1
exit d
munmap n 0 6
""", ["4/4/0/0", "4/4/0/0", "4/3/0/0", "4/3/3/0", "4/3/3/0", "4/3/3/0 SIGBUS", "4/3/0/0", "4/3/0/0",
      "4/2/0/0", "4/3/0/0", "4/4/0/0"]),
    "I": ("""
pool 2 overcommit 4
mmap a 4 private
touch a 0
touch a 1
touch a 2
munmap a 3 1
munmap a 0 1
munmap a 1 2
mmap b 7 private
mmap c 6 private
munmap c 0 6
mmap d 3 private noreserve
touch d 0
touch d 1
touch d 2
munmap d 0 3
""", ["2/2/0/0", "4/4/4/2", "4/3/3/2", "4/2/2/2", "4/1/1/2", "3/0/0/1", "2/0/0/0", "2/2/0/0",
      "2/2/0/0 ENOMEM", "6/6/6/4", "2/2/0/0", "2/2/0/0", "2/1/0/0", "2/0/0/0", "3/0/0/1", "2/2/0/0"]),
    "J": ("""
pool 6
mmap a 4 private
touch a 0
pool 0
touch a 1
munmap a 2 1
munmap a 0 4
""", ["6/6/0/0", "6/6/4/0", "6/5/3/0", "4/3/3/4", "4/2/2/4", "3/1/1/3", "0/0/0/0"]),
    "Q": ("""
pool 8
mmap a 4 shared
touch a 0
fork c
in c touch a 1
exit c
munmap a 2 1
munmap a 0 2
munmap a 3 1
mmap n 4 shared noreserve
touch n 0
munmap n 0 4
""", ["8/8/0/0", "8/8/4/0", "8/7/3/0", "8/7/3/0", "8/6/2/0", "8/6/2/0", "8/6/2/0", "8/6/2/0", "8/8/0/0",
      "8/8/0/0", "8/7/0/0", "8/8/0/0"]),
}

#: the seed trace (scenario ``seed``): Rsvd per step, per policy, worked out from each era's rules
SEED = """\
pool 8
mmap a 4 private
touch a 0
munmap a 1 1
munmap a 0 1
munmap a 2 2
"""
SEED_RSVD = {
    "unreserved": [0, 0, 0, 0, 0, 0],
    "double-credit": [0, 4, 3, 0, 18446744073709551613, 18446744073709551610],
    "region-count": [0, 4, 3, 2, 2, 0],
    "linux-2.6.27": [0, 4, 3, 2, 2, 0],
    "modern": [0, 4, 3, 2, 2, 0],
    # measured identical on Linux 6.1, 6.12 (QEMU guests) and 6.18
    "linux-6.1": [0, 4, 3, 2, 2, 0],
    "linux-6.12": [0, 4, 3, 2, 2, 0],
    "linux-6.18": [0, 4, 3, 2, 2, 0],
    "linux-6.18.15": [0, 4, 3, 2, 2, 0],  # measured in a guest running Debian's 6.18.15
}
SEED_FREE = {
    "unreserved": [8, 8, 7, 7, 8, 8],
    "double-credit": [8, 8, 7, 7, 8, 8],
    "region-count": [8, 8, 7, 7, 8, 8],
    "linux-2.6.27": [8, 8, 7, 7, 8, 8],
    "modern": [8, 8, 7, 7, 8, 8],
    "linux-6.1": [8, 8, 7, 7, 8, 8],
    "linux-6.12": [8, 8, 7, 7, 8, 8],
    "linux-6.18": [8, 8, 7, 7, 8, 8],
    "linux-6.18.15": [8, 8, 7, 7, 8, 8],
}


def as_rows(steps):
    """Steps as the tables write them: ``T/F/R/S`` plus the outcome when not ok."""
    return [str(s.counters) + (f" {s.error}" if s.error else "") for s in steps]


# -- trace v2: files, subpools, SHM (docs/measured-tables.md, K-R)
# (trace, Total/Free/Rsvd/Surp after each line, outcome where not ok); measured on 6.18.44
FILE_TABLES = {
    "K file, MAP_SHARED": ("""
pool 8
file f
mmap a 4 shared file f
touch a 0
touch a 1 read
munmap a 0 4
close f
mmap b 4 shared file f
mmap c 6 shared file f
munmap b 0 4
munmap c 0 6
truncate f 3
truncate f 1
unlink f
""", "8/8/0/0 8/8/0/0 8/8/4/0 8/7/3/0 8/6/2/0 8/6/2/0 8/6/2/0 8/6/2/0 8/6/4/0 8/6/4/0 8/6/4/0 8/6/1/0 8/7/0/0 8/8/0/0"),
    "K2 unlink while mapped": ("""
pool 8
file f
mmap a 3 shared file f
touch a 0
close f
unlink f
munmap a 0 3
""", "8/8/0/0 8/8/0/0 8/8/3/0 8/7/2/0 8/7/2/0 8/7/2/0 8/8/0/0"),
    "L truncate while mapped": ("""
pool 8
file f
mmap a 4 shared file f
touch a 0
touch a 2
truncate f 2
fork c1
in c1 touch a 3
truncate f 0
fork c2
in c2 touch a 0
truncate f 4
touch a 1
munmap a 0 4
close f
unlink f
""", "8/8/0/0 8/8/0/0 8/8/4/0 8/7/3/0 8/6/2/0 8/7/1/0 8/7/1/0 8/7/1/0:SIGBUS 8/8/0/0 8/8/0/0 8/8/0/0:SIGBUS "
     "8/8/0/0 8/7/0/0 8/7/0/0 8/7/0/0 8/8/0/0"),
    "M private mapping of a cached file": ("""
pool 8
file f
mmap s 2 shared file f
touch s 0
mmap p 2 private file f
touch p 0 read
touch p 0
touch p 1 read
munmap p 0 2
munmap s 0 2
close f
unlink f
""", "8/8/0/0 8/8/0/0 8/8/2/0 8/7/1/0 8/7/3/0 8/7/3/0 8/6/2/0 8/5/1/0 8/7/1/0 8/7/1/0 8/7/1/0 8/8/0/0"),
    "N hole punch": ("""
pool 8
file f
mmap a 4 shared file f
touch a 0
touch a 1
punch f 1 2
touch a 1
munmap a 0 4
fallocate f 4 2
close f
unlink f
""", "8/8/0/0 8/8/0/0 8/8/4/0 8/7/3/0 8/6/2/0 8/7/2/0 8/6/2/0 8/6/2/0 8/4/2/0 8/4/2/0 8/8/0/0"),
    "O min_size and size": ("""
pool 8
mount q size=6 min_size=2
file f on q
mmap a 1 shared file f
mmap b 3 shared file f
mmap p 4 private file f
mmap p2 3 private file f
touch p2 0
munmap p2 0 3
munmap a 0 1
munmap b 0 3
truncate f 0
close f
unlink f
umount q
""", "8/8/0/0 8/8/2/0 8/8/2/0 8/8/2/0 8/8/3/0 8/8/3/0:ENOMEM 8/8/6/0 8/7/5/0 8/8/3/0 8/8/3/0 8/8/3/0 "
     "8/8/2/0 8/8/2/0 8/8/2/0 8/8/0/0"),
    "P min_size the pool cannot hold": ("""
pool 1
mount q min_size=2
""", "1/1/0/0 1/1/0/0:ENOMEM"),
    # docs/measured-tables.md U and V (issue 20): a umount refused with EBUSY keeps its mount and files,
    # and the kernel goes on using them; one that succeeded takes them, and the lines naming them after
    # it are skipped
    "U umount refused (EBUSY), then used": ("""
pool 8
mount q size=4
file f on q
umount q                 # EBUSY: f is open
mmap a 2 shared file f   # the kernel maps it
touch a 0
close f
munmap a 0 2
umount q                 # nothing holds q now: it goes, and f's page with it
""", "8/8/0/0 8/8/0/0 8/8/0/0 8/8/0/0:EBUSY 8/8/2/0 8/7/1/0 8/7/1/0 8/7/1/0 8/8/0/0"),
    "V umount succeeded, then skipped": ("""
pool 8
mount q size=4
file f on q
mmap a 2 shared file f
touch a 0
munmap a 0 2
close f
umount q                 # nothing open or mapped: q goes, with f and its page
touch a 0                # a was made from f: skipped
mmap b 2 shared file f   # skipped, and so is every line naming b
touch b 0
truncate f 1
file g on q
umount q
memfd m                  # lines that name nothing of q still run
""", "8/8/0/0 8/8/0/0 8/8/0/0 8/8/2/0 8/7/1/0 8/7/1/0 8/7/1/0 8/8/0/0 8/8/0/0:skipped 8/8/0/0:skipped "
     "8/8/0/0:skipped 8/8/0/0:skipped 8/8/0/0:skipped 8/8/0/0:skipped 8/8/0/0"),
    "R SHM_HUGETLB": ("""
pool 8
shmget s 3
shmat s a
touch a 0
shmrm s
munmap a 0 3
shmget s2 9
shmget s3 9 noreserve
""", "8/8/0/0 8/8/3/0 8/8/3/0 8/7/2/0 8/7/2/0 8/8/0/0 8/8/0/0:ENOMEM 8/8/0/0"),
}
