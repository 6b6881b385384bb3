#!/usr/bin/env python3
"""Runs e2e test modules with unittest (verbose); exit 77 when every test was skipped, so ctest shows
the skip (SKIP_RETURN_CODE) instead of a pass.  Usage: run_e2e.py test_clients [test_capture ...]"""
import sys
import unittest

if __name__ == "__main__":
    suite = unittest.defaultTestLoader.loadTestsFromNames(sys.argv[1:])
    result = unittest.TextTestRunner(verbosity=2).run(suite)
    if not result.wasSuccessful():
        sys.exit(1)
    ran = result.testsRun - len(result.skipped)
    sys.exit(77 if result.skipped and ran <= 0 else 0)
