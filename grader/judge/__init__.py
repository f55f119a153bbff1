"""The judge: the pytest process that runs the suites. It never imports or calls student code;
it talks to a student host per test and computes every verdict from plain data."""
