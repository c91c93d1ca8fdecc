"""The classic-mistake diagnosis is a pure function: expected and wrong answers in, names out."""
import numpy as np
import pytest

from autograder.judging.compare import compare_exact, compare_values, rel_error
from autograder.judging.diagnosis import diagnose

rng = np.random.default_rng(0)


def codes(expected, got, **kw):
    return [m.code for m in diagnose(expected, got, **kw)]


def test_transposed_gradient_is_named():
    dW = rng.normal(size=(3, 5))
    assert codes(dW, dW.T) == ["transposed"]


def test_transposed_square_gradient_is_named():
    dW = rng.normal(size=(4, 4))
    assert codes(dW, dW.T.copy()) == ["transposed"]


def test_wrong_sign_is_named():
    g = rng.normal(size=(2, 3))
    assert codes(g, -g) == ["wrong_sign"]


@pytest.mark.parametrize("factor", [2.0, 0.5])
def test_factor_two_is_named(factor):
    g = rng.normal(size=(6,))
    assert codes(g, factor * g) == ["factor_2"]


def test_missing_batch_mean_is_named_with_the_batch_size():
    g = rng.normal(size=(3, 4))
    found = diagnose(g, 8 * g, batch_size=8)
    assert [m.code for m in found] == ["batch_size"]
    assert "8" in found[0].message


def test_double_division_by_batch_size_is_named():
    g = rng.normal(size=(3, 4))
    assert codes(g, g / 8, batch_size=8) == ["batch_size"]


def test_negative_factor_names_sign_and_factor():
    g = rng.normal(size=(5,))
    assert codes(g, -2 * g) == ["wrong_sign", "factor_2"]


def test_other_constant_factor_is_reported_with_its_value():
    g = rng.normal(size=(5,))
    found = diagnose(g, 3.7 * g)
    assert [m.code for m in found] == ["factor"]
    assert "3.7" in found[0].message


def test_bias_gradient_not_summed_over_batch():
    per_example = rng.normal(size=(8, 3))
    assert codes(per_example.sum(axis=0), per_example) == ["bias_not_summed"]


def test_only_one_branch_of_a_fork():
    through_skip, through_block = rng.normal(size=(4,)), rng.normal(size=(4,))
    found = codes(through_skip + through_block, through_block,
                  branches={"the residual branch": through_block, "the skip connection": through_skip})
    assert found == ["one_branch"]


def test_all_zeros_and_not_finite():
    g = rng.normal(size=(3,))
    assert codes(g, np.zeros(3)) == ["zeros"]
    assert codes(g, np.array([1.0, np.nan, 2.0])) == ["not_finite"]


def test_right_values_wrong_shape():
    g = rng.normal(size=(2, 3))
    assert codes(g, g.reshape(-1)) == ["reshaped"]


def test_some_entries_wrong_names_the_first_wrong_index():
    g = rng.normal(size=(3, 3))
    got = g.copy()
    got[1, 2] += 5.0
    found = diagnose(g, got)
    assert [m.code for m in found] == ["some_entries"]
    assert "(1, 2)" in found[0].message
    assert "8 of 9 entries are right and 1 is wrong" in found[0].message and "that entry" in found[0].message
    got[0, 0] += 5.0
    assert "7 of 9 entries are right and 2 are wrong" in diagnose(g, got)[0].message


def test_known_variants_pick_the_closest_and_ignore_ones_equal_to_the_answer():
    expected = np.array(1.00)
    variants = {"forward": ("forward", np.array(1.02)), "central_2h": ("2h", np.array(1.0001)),
                "same_as_answer": ("never", np.array(1.0))}
    assert codes(expected, np.array(1.0001), variants=variants) == ["central_2h"]
    assert codes(expected, np.array(1.02), variants=variants) == ["forward"]


def test_unrelated_wrong_answer_gets_no_name():
    assert codes(rng.normal(size=(4, 3)), rng.normal(size=(4, 3))) == []
    # two different scalars always differ "by a factor": only named factors are reported
    assert codes(np.array(1.3), np.array(1.7)) == []


def test_compare_values_reports_relative_error_and_worst_entry():
    expected = np.arange(6.0).reshape(2, 3)
    got = expected.copy()
    got[1, 1] = 40.0
    verdict = compare_values(expected, got, what="the gradient", rtol=1e-6)
    assert not verdict.passed
    assert "(1, 1)" in verdict.message and "relative error" in verdict.message
    assert verdict.rel_error == pytest.approx(rel_error(expected, got))


def test_compare_values_shape_and_dtype_messages():
    expected = np.ones((2, 3))
    verdict = compare_values(expected, np.ones((3, 2)), what="dW", rtol=1e-6)
    assert "(3, 2)" in verdict.message and "(2, 3)" in verdict.message
    verdict = compare_values(expected, np.ones((2, 3)), what="dW", rtol=1e-6, got_dtype="int64")
    assert not verdict.passed and "integer dtype" in verdict.message


def test_compare_exact_names_a_modified_input():
    x = np.array([1.0, 2.0, 3.0])
    changed = x.copy()
    changed[2] = np.nextafter(3.0, 4.0)
    verdict = compare_exact(x, changed, what="x")
    assert not verdict.passed and [m.code for m in verdict.mistakes] == ["input_modified"]
    assert compare_exact(x, x.copy(), what="x").passed


def test_rel_error_matches_the_course_definition():
    a, b = np.array([1.0, -2.0]), np.array([1.5, -2.0])
    assert rel_error(a, b) == pytest.approx(0.5 / 4.0)
    assert rel_error(np.zeros(3), np.zeros(3)) == 0.0
    assert rel_error(np.array([1e-9]), np.array([-1e-9])) == pytest.approx(0.2)
