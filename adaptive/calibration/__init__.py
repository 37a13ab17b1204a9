r"""Item calibration by marginal maximum likelihood (Bock–Aitkin EM) on sparse response data.

The ability distribution is integrated out on a fixed, equally spaced grid of quadrature nodes
:math:`z_q` (61 points on [-6, 6] by default) with normalised standard-normal weights :math:`w_q`.
The marginal log-likelihood of the data is

.. math:: \ell(\eta) = \sum_p \log \sum_q w_q \prod_{(p, j, x) \in \text{data}} P_{jx}(\mu + \sigma z_q)

where the product runs over the responses learner :math:`p` actually gave (missing responses are
absent from the sparse data, which is missing at random under the model), and :math:`\mu = 0,
\sigma = 1` unless anchors are given (see below).

Models (logistic metric, no 1.7 constant; the probabilities come from :mod:`adaptive.irt`):

* ``"2pl"``: :math:`P = 1 / (1 + e^{-(a\theta + d)})`, reported as :math:`b = -d/a`.
* ``"1pl"``: the 2PL with one common discrimination :math:`a` shared by every item and estimated,
  with :math:`\theta \sim N(0, 1)`. This is the Rasch model with a free ability variance
  :math:`a^2` written on the unit-variance scale (Rasch difficulties are :math:`a b`).
* ``"3pl"``: :math:`P = c + (1 - c) / (1 + e^{-(a\theta + d)})` with a Beta prior on :math:`c`
  (Beta(5, 17) by default, like BILOG; set ``Priors(c_beta=None)`` for none). :math:`c` is estimated
  as :math:`\operatorname{logit} c`.
* ``"gpcm"``: generalised partial credit, step difficulties :math:`b_{jk}`.
* ``"grm"``: graded response, ordered boundaries :math:`b_{j1} < \dots < b_{jK}`.

Estimation. The E-step forms the learners × nodes log-likelihood as one sparse product
:math:`L = X T` of the learners × (item, category) indicator matrix :math:`X` with the table
:math:`T_{(j,k),q} = \log P_{jk}(\theta_q)`, then posterior weights, and the expected counts
:math:`\bar r_{jkq}` as :math:`X^\top \Pi`. No Python loop runs over learners or responses. The M-step
maximises, for all items at once, :math:`\sum_q \sum_k \bar r_{jkq} \log P_{jk}(\theta_q)` plus the log
prior by vectorised Fisher scoring (exact Newton for the 2PL) with step halving. The EM map is
accelerated by SQUAREM (Varadhan & Roland 2008, scheme S3, with a monotonicity safeguard on the
log-posterior). Everything runs in float64: with the E-step reduced to two sparse products per
iteration, float32 was not needed (5 M responses of 100,000 learners calibrate in well under 30 s).
Convergence: the largest absolute change of any estimated parameter (in the
estimation parametrisation: :math:`a`, intercept :math:`d`, :math:`\operatorname{logit} c`,
thresholds) over one plain EM step is below ``tol``.

Standard errors come from the cross-product (XPD, "empirical information") approximation of the
observed information at convergence,

.. math:: \mathcal I(\hat\eta) \approx \sum_p s_p s_p^\top + \mathcal I_\text{prior},\qquad
          s_p = \sum_q \pi_{pq} \frac{\partial}{\partial \eta}\log f(x_p \mid \theta_q)

(:math:`\pi_{pq}` are the posterior weights). The full matrix is inverted when it is small enough
(``se_method="xpd"``); for very large problems only each item's own block is inverted
(``se_method="xpd-block"``, which ignores the small covariances between items). The SE of a
difficulty :math:`b = -d/a` follows by the delta method,
:math:`\nabla b = (d/a^2, -1/a)`, and of :math:`c` by :math:`c(1-c)\,\mathrm{SE}(\operatorname{logit} c)`.
Anchors have no SEs, and with anchors the ability mean and SD are treated as known in the SEs.
The cross-product information of :math:`P` learners has rank at most :math:`P`: with fewer learners
than parameters (or a parameter the responses leave free) it is singular. It is then inverted only
on the directions it determines; a parameter or a difficulty :math:`b` outside them gets no SE
(NaN), and a warning names the items and suggests more learners or priors (which make it
invertible).

Fixed-anchor calibration (FIPC). Items of an ``anchors`` bank that appear in the data keep their
parameters; they fix the scale, so the mean and SD of the ability distribution, :math:`\mu` and
:math:`\sigma`, are then estimated too (the nodes move to :math:`\mu + \sigma z_q`), and the new items
come out on the anchors' scale even when the new population is not N(0, 1). For the 1PL the new
items take the anchors' common discrimination.

Items on which every response is the same score (all 0, all 1, one category only) carry no
information about their parameters: they are left out of estimation and of the resulting bank, and
``CalibrationResult.warnings`` names them (``CalibrationResult.excluded`` lists their ids).

Score categories. A polytomous item's number of categories is declared (``categories=``, or by an
anchor), not guessed: a score above the declared range raises ``InvalidResponses`` naming the
item, the score, the range and, for data read from text, the line. Undeclared items fall back to
their highest observed score, with a warning. Thresholds next to a category nobody used are not
identified (they run to a bound or meet their neighbour); they are reported without SEs.

Implausible estimates. An item whose discrimination exceeds :data:`PLAUSIBLE_A_MAX` (4), or whose
SE(a) exceeds :data:`PLAUSIBLE_SE_A_MAX` (1) or SE(b) :data:`PLAUSIBLE_SE_B_MAX` (2), gets a
warning naming it, the responses it rests on and a prior that bounds it: an item 9 of 2,000 learners
got wrong, all of them the least able, has ML estimate a = 22.8 with SE 831; with
``Priors(a_lognormal=(0, 0.5))`` (:data:`SUGGESTED_A_PRIOR`) it gets a = 3.4.

The modules, from the entry point down::

    fit.py            calibrate(): check the request, run our EM or the pyirt backend
    pyirt_backend.py  pyirt 0.3.4's 2PL EM, run inline and quietly, on the N(0, 1) metric
    scoring.py        eap_scores, marginal_log_likelihood on a calibrated bank
    mml.py            score ranges, starting values, the EM run, the bank and its warnings
    stderr.py         standard errors (cross-product information, full or per item)
    em.py             the sparse layout, the E-step and the EM map with SQUAREM
    mstep.py          the per-item models and vectorised Fisher scoring
    results.py        Priors, ConvergenceReport, CalibrationResult, EAPScores, the quadrature grid
    constants.py      numerical limits and the thresholds of the warnings
"""

from __future__ import annotations

from .constants import (
    ENGINES,
    PLAUSIBLE_A_MAX,
    PLAUSIBLE_SE_A_MAX,
    PLAUSIBLE_SE_B_MAX,
    SUGGESTED_A_PRIOR,
    SUGGESTED_B_PRIOR,
)
from .fit import calibrate
from .pyirt_backend import PYIRT_ALPHA_BOUNDS, PYIRT_BETA_BOUNDS
from .results import (
    CalibrationResult,
    ConvergenceReport,
    EAPScores,
    Priors,
    from_pyirt_parameters,
    normal_quadrature,
)
from .scoring import eap_scores, marginal_log_likelihood

__all__ = [
    "ENGINES",
    "PLAUSIBLE_A_MAX",
    "PLAUSIBLE_SE_A_MAX",
    "PLAUSIBLE_SE_B_MAX",
    "PYIRT_ALPHA_BOUNDS",
    "PYIRT_BETA_BOUNDS",
    "SUGGESTED_A_PRIOR",
    "SUGGESTED_B_PRIOR",
    "CalibrationResult",
    "ConvergenceReport",
    "EAPScores",
    "Priors",
    "calibrate",
    "eap_scores",
    "from_pyirt_parameters",
    "marginal_log_likelihood",
    "normal_quadrature",
]
