"""Documented simulators with known ground truth. They complement the real data where it is too
small for a claim; a figure never shows a simulator in place of real data, only beside it, labelled.
"""
