"""py_cat.py: a Python program that drives `cat` through pipes
(subprocess.Popen), as many tools drive a helper process; with the cat it
is a process tree (restorer tree tests). It sends five lines and reads
each back, prints "waiting at 1" and waits for a byte (or end of file) on
stdin, then five more lines, closes cat's stdin and waits for it. Every
echo is checked; "result ok" at the end."""
import subprocess
import sys

cat = subprocess.Popen(["cat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE)


def talk(i):
    cat.stdin.write(f"line {i}\n".encode())
    cat.stdin.flush()
    got = cat.stdout.readline().decode()
    if got != f"line {i}\n":
        print(f"FAIL: sent line {i}, cat said {got!r}", flush=True)
        sys.exit(1)


for i in range(5):
    talk(i)
print("ready", flush=True)
print("waiting at 1", flush=True)
sys.stdin.buffer.read(1)
for i in range(5, 10):
    talk(i)
print("ten lines echoed", flush=True)
cat.stdin.close()
rest = cat.stdout.read()
print(f"cat exited {cat.wait()} after {rest!r}", flush=True)
print("result ok", flush=True)
