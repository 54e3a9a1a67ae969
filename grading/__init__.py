"""minigrad's homework autograder: grades, safely, and names the student's mistake.

An assignment (:class:`Assignment`) is a reference, a catalogue of known
mistakes written as variants of the reference (:class:`Mistake`) and seeded
cases. :func:`grade` runs a submission in a sandboxed child process
(:mod:`grading.sandbox`), compares its answers with the reference and with every
mistake (:mod:`grading.evaluate`), and :mod:`grading.results` writes
Gradescope's ``results.json`` or a Markdown report. ``python -m grading`` is the
command line.
"""
from grading.assignment import Arg, Assignment, Case, GradedFunction, Mistake, QuadraticGrad, Step
from grading.grader import GradeReport, grade, grade_trusted

__all__ = ["Arg", "Assignment", "Case", "GradedFunction", "GradeReport", "Mistake", "QuadraticGrad", "Step",
           "grade", "grade_trusted"]
