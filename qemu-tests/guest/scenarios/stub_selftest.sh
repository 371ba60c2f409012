# The restorer stub resumes threads with their full state on the 6.12 guest
# kernel too (frame layout, XSAVE handling, rseq and clone flags).
stub-selftest /usr/bin/stub.bin
