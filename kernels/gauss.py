"""Secondary suppression by greedy Gaussian elimination (Langsrud's method), sparse and exact.

A table is z = X^T y: column j of X marks the inner cells published cell j sums.
Candidates are visited in order of preference to publish. A candidate is
published unless that would put a primary cell in the span of the published
columns (the primary could be recomputed); then it becomes a secondary
suppression. The greedy result depends only on the order, not on pivots.

Instead of reducing columns (which fills in densely once margins are
published), we keep the *parametrisation* of the tables consistent with what
is published so far: every inner cell i is a row ``y_i = W_i . a`` over free
parameters a (at the start W = I). Publishing a column c fixes the linear form
``v = c^T W``; one parameter k with ``v_k != 0`` is eliminated by substituting
it into every row that uses it. A cell is determined exactly when its row is
empty. A primary p would be determined by publishing c exactly when its row is
parallel to v. Parameters are chosen to keep rows short (fewest users first),
which for tables with margins keeps rows at a handful of entries.

Rows are exact rationals: integer numerators with one positive denominator per
row. If a number would outgrow 2**40, the kernel carries every row over to
residues mod a prime q below 2**31 (``switch_to``; no denominators, nothing
grows) and goes on from the same candidate; a run can also be modular from the
start (``modulus``). The decisions are the rational ones unless q divides one of
the numbers the elimination meets (numerators and pivots of size about 2**40: a
chance of the order of 1e-9 each for a random 31-bit prime), and the one
dangerous error, a column whose form vanishes mod q but not over the rationals,
is the same event. The caller draws q at random and checks the resulting
pattern modulo further random primes. Without a prime to switch to, the kernel
stops and reports overflow.

Most candidates are inner cells whose row is a single parameter: publishing
one fixes that parameter. Rewriting every row that uses it would cost the
length of those rows (a margin's pivot row can use thousands of parameters), so
a fixed parameter is only marked *dead*: rows keep its entry, every reader skips
it, each row counts its live entries, and the next full rewrite of a row drops
its dead entries.

Singletons: a cell known to a single contributor. With singleton protection a
candidate is also refused if, after publishing it, some primary row is
parallel to a (different) singleton's row, i.e. that contributor could
recover the primary from its own value. Parallel rows are found by a
scale-free fingerprint of the row (two random linear forms modulo a prime, as
a ratio), which a fixed parameter updates in O(1); a fingerprint collision can
only add a suppression, never hide one.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.typed import Dict
from sdc.kernels.layout import PRIMARY, PUBLISHED, SECONDARY

_LIMIT = 1 << 40
#: Bound on any product or sum formed on the way (int64 holds 2**63): past it, overflow.
_SAFE = float(1 << 61)
_EMPTY_HASH = 0


@njit(cache=True)
def _big(a, b):
    """Would a * b leave the safe range? (checked in floating point, before multiplying)"""
    return abs(float(a) * float(b)) >= _SAFE


@njit(cache=True)
def _gcd(a, b):
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    return a


#: Prime modulus of the row fingerprints (products of two residues fit in int64).
_P = 2147483647


@njit(cache=True)
def _mod(a, p):
    r = a % p
    return r + p if r < 0 else r


@njit(cache=True)
def _inverse(a, p):
    """a^(p-2) mod p: the inverse of a non-zero residue (p prime)."""
    result = 1
    base = a
    e = p - 2
    while e:
        if e & 1:
            result = result * base % p
        base = base * base % p
        e >>= 1
    return result


@njit(cache=True)
def _forms(n, seed, p):
    """Per-parameter coefficients of the random linear forms (splitmix64, deterministic)."""
    out = np.empty(n, dtype=np.int64)
    z = np.uint64(seed)
    for k in range(n):
        z = z + np.uint64(0x9E3779B97F4A7C15)
        x = z
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        x = x ^ (x >> np.uint64(31))
        out[k] = np.int64(x % np.uint64(p - 1)) + 1
    return out


@njit(cache=True)
def _fingerprint(f1, f2, live, p):
    """Hash of a row's direction from its two forms mod p; equal for parallel rows."""
    if live == 0:
        return _EMPTY_HASH
    if f2 == 0:
        return p + 1  # one shared bucket: collisions only add suppressions
    return 1 + f1 * _inverse(f2, p) % p


@njit(cache=True)
def _row_forms(idx, num, start, length, dead, form1, form2, p):
    """The two forms of a row over its live entries, mod p."""
    f1 = 0
    f2 = 0
    for t in range(start, start + length):
        k = idx[t]
        if dead[k]:
            continue
        v = _mod(num[t], p)
        f1 = (f1 + v * form1[k]) % p
        f2 = (f2 + v * form2[k]) % p
    return f1, f2


@njit(cache=True)
def _find(idx, start, length, k):
    """Position of parameter k in a sorted row, or -1."""
    lo, hi = start, start + length
    while lo < hi:
        mid = (lo + hi) // 2
        if idx[mid] < k:
            lo = mid + 1
        else:
            hi = mid
    return lo if lo < start + length and idx[lo] == k else -1


@njit(cache=True)
def _grow(arr, need):
    """``arr`` with room for ``need`` entries (doubled; an empty array grows too)."""
    if need <= arr.shape[0]:
        return arr
    size = max(arr.shape[0] * 2, 16)
    while size < need:
        size *= 2
    out = np.empty(size, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@njit(cache=True)
def _add_count(d, h, delta):
    if h == _EMPTY_HASH:
        return
    c = d.get(h, 0) + delta
    if c == 0:
        d.pop(h)
    else:
        d[h] = c


@njit(cache=True)
def gauss_suppress(
    col_ptr, col_idx, n_inner, order, status, singleton, forced, protect_singletons, free_end,
    modulus, switch_to,
):  # fmt: skip
    """Decide every candidate in ``order``; returns (status, overflowed, n_done, free_ok, modulus).

    Parameters
    ----------
    col_ptr, col_idx : CSC of X (inner cells of each published column).
    order : candidate columns, most wanted published first.
    status : (n_pub,) int8, PRIMARY marked on input; candidates get PUBLISHED/SECONDARY.
    singleton : (n_inner,) bool, cells known to one contributor.
    forced : (n_pub,) bool, candidates published without any check.
    free_end : the first ``free_end`` candidates were put in an order of the caller's
        choosing (to keep rows short), which gives the greedy result only if all of
        them are published: if one is refused the kernel stops with ``free_ok`` False
        and the caller must run again in the true order.
    modulus : 0 for exact rational arithmetic (which may overflow), or a prime below
        2**31: rows are residues mod that prime and never overflow (module docstring).
    switch_to : 0, or a prime: where the exact numbers would overflow, every row is
        carried over to residues mod this prime and the elimination goes on from the
        same candidate. The returned ``modulus`` says how the run ended (0: exact).
    """
    mod = modulus > 0
    fp = modulus if mod else _P  # the fingerprints' prime: the rows' own when modular
    n_pub = col_ptr.shape[0] - 1
    # --- tracked rows: inner cells, then one virtual row per aggregate primary ---
    is_unit = np.zeros(n_pub, dtype=np.bool_)
    n_virtual = 0
    for j in range(n_pub):
        if col_ptr[j + 1] - col_ptr[j] == 1:
            is_unit[j] = True
        elif status[j] == PRIMARY:
            n_virtual += 1
    n_rows = n_inner + n_virtual
    row_primary = np.zeros(n_rows, dtype=np.bool_)
    row_single = np.zeros(n_rows, dtype=np.bool_)
    for i in range(n_inner):
        row_single[i] = singleton[i] and protect_singletons
    nnz0 = n_inner
    for j in range(n_pub):
        if status[j] == PRIMARY and not is_unit[j]:
            nnz0 += col_ptr[j + 1] - col_ptr[j]
    cap0 = max(2 * nnz0, 16)
    r_idx = np.empty(cap0, dtype=np.int64)
    r_num = np.empty(cap0, dtype=np.int64)
    r_start = np.empty(n_rows, dtype=np.int64)
    r_len = np.empty(n_rows, dtype=np.int64)
    r_cap = np.empty(n_rows, dtype=np.int64)
    r_den = np.ones(n_rows, dtype=np.int64)
    top = 0
    for i in range(n_inner):
        r_start[i] = top
        r_len[i] = 1
        r_cap[i] = 2
        r_idx[top] = i
        r_num[top] = 1
        top += 2
        if top > r_idx.shape[0] - 2:
            r_idx = _grow(r_idx, top + 2)
            r_num = _grow(r_num, top + 2)
    v_row = n_inner
    for j in range(n_pub):
        if status[j] != PRIMARY:
            continue
        if is_unit[j]:
            row_primary[col_idx[col_ptr[j]]] = True
            continue
        length = col_ptr[j + 1] - col_ptr[j]
        r_idx = _grow(r_idx, top + length)
        r_num = _grow(r_num, top + length)
        r_start[v_row] = top
        r_len[v_row] = length
        r_cap[v_row] = length
        ids = np.sort(col_idx[col_ptr[j] : col_ptr[j + 1]])
        for t in range(length):
            r_idx[top + t] = ids[t]
            r_num[top + t] = 1
        top += length
        row_primary[v_row] = True
        v_row += 1
    # --- parameter -> rows using it (may hold stale entries; checked on use) ---
    p_start = np.empty(n_inner, dtype=np.int64)
    p_len = np.zeros(n_inner, dtype=np.int64)
    p_cap = np.empty(n_inner, dtype=np.int64)
    for r in range(n_rows):
        for t in range(r_start[r], r_start[r] + r_len[r]):
            p_len[r_idx[t]] += 1
    ptop = 0
    for k in range(n_inner):
        p_start[k] = ptop
        p_cap[k] = p_len[k] + 2
        ptop += p_cap[k]
        p_len[k] = 0
    p_rows = np.empty(max(ptop, 16), dtype=np.int64)
    for r in range(n_rows):
        for t in range(r_start[r], r_start[r] + r_len[r]):
            k = r_idx[t]
            p_rows[p_start[k] + p_len[k]] = r
            p_len[k] += 1
    # --- fingerprints of primary / singleton rows ---
    dead = np.zeros(n_inner, dtype=np.bool_)
    r_live = r_len.copy()
    form1, form2, r_f1, r_f2, r_hash, prim_h, sing_h, both_h = _fingerprints(
        r_idx, r_num, r_start, r_len, r_live, dead, row_primary, row_single, fp
    )
    # --- scratch ---
    acc = np.zeros(n_inner, dtype=np.int64)
    acc_on = np.zeros(n_inner, dtype=np.bool_)
    touched = np.empty(n_inner, dtype=np.int64)
    v_idx = np.empty(16, dtype=np.int64)
    v_num = np.empty(16, dtype=np.int64)
    stamp = np.full(n_rows, -1, dtype=np.int64)
    users = np.empty(16, dtype=np.int64)
    user_k = np.empty(16, dtype=np.int64)
    new_idx = np.empty(16, dtype=np.int64)
    new_num = np.empty(16, dtype=np.int64)
    new_start = np.empty(16, dtype=np.int64)
    new_len = np.empty(16, dtype=np.int64)
    new_den = np.empty(16, dtype=np.int64)
    new_f1 = np.empty(16, dtype=np.int64)
    new_f2 = np.empty(16, dtype=np.int64)
    new_hash = np.empty(16, dtype=np.int64)
    p_mark = np.zeros(n_inner, dtype=np.int64)  # list length after the last compaction

    step = 0
    pending = False  # the exact numbers overflowed at this step: carry on modulo switch_to
    while step < order.shape[0]:
        if pending:
            if mod or switch_to == 0 or not _to_modular(r_num, r_start, r_len, r_den, switch_to):
                return status, True, step, True, modulus
            mod = True
            modulus = switch_to
            fp = switch_to
            form1, form2, r_f1, r_f2, r_hash, prim_h, sing_h, both_h = _fingerprints(
                r_idx, r_num, r_start, r_len, r_live, dead, row_primary, row_single, fp
            )
            acc[:] = 0
            acc_on[:] = False
            stamp[:] = -1  # this step's users are collected again
            pending = False
        c = order[step]
        # v = c^T W over a common denominator, live parameters only.
        nv = 0
        lcm = 1
        if not mod:
            for t in range(col_ptr[c], col_ptr[c + 1]):
                d = r_den[col_idx[t]]
                lcm = lcm // _gcd(lcm, d)
                if _big(lcm, d):
                    pending = True
                    break
                lcm *= d
            if lcm > _LIMIT:
                pending = True
        for t in range(col_ptr[c], col_ptr[c + 1]):
            if pending:
                break
            i = col_idx[t]
            scale = lcm // r_den[i]
            for u in range(r_start[i], r_start[i] + r_len[i]):
                k = r_idx[u]
                if dead[k]:
                    continue
                if not acc_on[k]:
                    acc_on[k] = True
                    touched[nv] = k
                    nv += 1
                if mod:
                    acc[k] = (acc[k] + r_num[u]) % modulus
                    continue
                if _big(r_num[u], scale) or abs(acc[k]) >= _SAFE:
                    pending = True
                    break
                acc[k] += r_num[u] * scale
        if pending:
            continue
        m = 0
        v_idx = _grow(v_idx, nv)
        v_num = _grow(v_num, nv)
        for q in range(nv):
            k = touched[q]
            if acc[k] != 0:
                v_idx[m] = k
                v_num[m] = acc[k]
                m += 1
            acc[k] = 0
            acc_on[k] = False
        nv = m
        if nv == 0:  # already determined by what is published
            status[c] = PUBLISHED
            step += 1
            continue
        order_v = np.argsort(v_idx[:nv])
        vi = v_idx[:nv][order_v].copy()
        vn = v_num[:nv][order_v].copy()
        g = 1 if mod else 0  # residues carry no common factor to divide out
        for q in range(nv):
            if g == 1:
                break
            g = _gcd(g, vn[q])
        if g > 1:
            for q in range(nv):
                vn[q] //= g
        # Pivot: the parameter with the fewest users, preferring unit coefficients.
        best = -1
        best_score = np.int64(1) << 62
        for q in range(nv):
            score = p_len[vi[q]] * (1 if abs(vn[q]) == 1 or mod else 4)
            if score < best_score:
                best_score = score
                best = q
        k = vi[best]
        vk = vn[best]
        # Rows that use k (deduplicated), with their coefficient of k.
        n_users = 0
        users = _grow(users, p_len[k])
        user_k = _grow(user_k, p_len[k])
        for t in range(p_start[k], p_start[k] + p_len[k]):
            r = p_rows[t]
            if stamp[r] == step:
                continue
            stamp[r] = step
            at = _find(r_idx, r_start[r], r_len[r], k)
            if at >= 0:
                users[n_users] = r
                user_k[n_users] = r_num[at]
                n_users += 1
        new_len = _grow(new_len, n_users)
        new_f1 = _grow(new_f1, n_users)
        new_f2 = _grow(new_f2, n_users)
        new_hash = _grow(new_hash, n_users)
        fixes = nv == 1  # publishing c fixes k: its users just lose a live entry
        if fixes:
            for q in range(n_users):
                r = users[q]
                new_len[q] = r_live[r] - 1
                if row_primary[r] or row_single[r]:
                    rk = _mod(user_k[q], fp)
                    new_f1[q] = _mod(r_f1[r] - rk * form1[k] % fp, fp)
                    new_f2[q] = _mod(r_f2[r] - rk * form2[k] % fp, fp)
                    new_hash[q] = _fingerprint(new_f1[q], new_f2[q], new_len[q], fp)
        else:
            # New rows: new = (r * vk - r_k * v) / (den_r * vk), gcd-reduced, dead entries dropped
            # (modular: new = r - (r_k / vk) * v).
            new_start = _grow(new_start, n_users)
            new_den = _grow(new_den, n_users)
            total_len = 0
            for q in range(n_users):
                total_len += r_len[users[q]] + nv
            new_idx = _grow(new_idx, total_len)
            new_num = _grow(new_num, total_len)
            pos = 0
            overflow = False
            ivk = _inverse(_mod(vk, fp), fp) if mod else 1
            for q in range(n_users):
                r = users[q]
                rk = user_k[q]
                w = rk * ivk % fp if mod else 0  # modular rows carry no denominator
                a = r_start[r]
                a_end = a + r_len[r]
                b = 0
                new_start[q] = pos
                while a < a_end or b < nv:
                    ra = 0  # this row's entry and v's entry at idx
                    vb = 0
                    if b >= nv or (a < a_end and r_idx[a] < vi[b]):
                        idx = r_idx[a]
                        ra = 0 if dead[idx] else r_num[a]
                        a += 1
                    elif a >= a_end or vi[b] < r_idx[a]:
                        idx = vi[b]
                        vb = vn[b]
                        b += 1
                    else:
                        idx = r_idx[a]
                        ra = r_num[a]
                        vb = vn[b]
                        a += 1
                        b += 1
                    if mod:
                        val = (ra - w * vb) % modulus
                    elif _big(ra, vk) or _big(rk, vb):
                        overflow = True
                        break
                    else:
                        val = ra * vk - rk * vb
                    if val != 0:
                        if abs(val) > _LIMIT:
                            overflow = True
                        new_idx[pos] = idx
                        new_num[pos] = val
                        pos += 1
                length = pos - new_start[q]
                if mod:
                    den = 1
                elif overflow or _big(r_den[r], vk):
                    overflow = True
                    break
                else:
                    den = r_den[r] * vk
                if den < 0:
                    den = -den
                    for u in range(new_start[q], pos):
                        new_num[u] = -new_num[u]
                g = den
                for u in range(new_start[q], pos):
                    if g == 1:
                        break
                    g = _gcd(g, new_num[u])
                if g > 1:
                    for u in range(new_start[q], pos):
                        new_num[u] //= g
                    den //= g
                if den > _LIMIT:
                    overflow = True
                new_len[q] = length
                new_den[q] = den
                if row_primary[r] or row_single[r]:
                    f1, f2 = _row_forms(
                        new_idx, new_num, new_start[q], length, dead, form1, form2, fp
                    )
                    new_f1[q] = f1
                    new_f2[q] = f2
                    new_hash[q] = _fingerprint(f1, f2, length, fp)
            if overflow:
                pending = True
                continue
        # Would a primary become determined, or recoverable by a singleton's contributor?
        refuse = False
        if not forced[c]:
            for q in range(n_users):
                if row_primary[users[q]] and new_len[q] == 0:
                    refuse = True
                    break
            if not refuse and protect_singletons:
                refuse = _singleton_clash(
                    users, n_users, new_hash, r_hash, row_primary, row_single,
                    prim_h, sing_h, both_h,
                )  # fmt: skip
        if refuse:
            if step < free_end:
                return status, False, step, False, modulus
            status[c] = SECONDARY
            step += 1
            continue
        status[c] = PUBLISHED
        # Commit: update the rows (or their live counts), register new users, retire k.
        for q in range(n_users):
            r = users[q]
            if not fixes:
                length = new_len[q]
                if length > r_cap[r]:
                    cap = 2 * length
                    r_idx = _grow(r_idx, top + cap)
                    r_num = _grow(r_num, top + cap)
                    r_start[r] = top
                    r_cap[r] = cap
                    top += cap
                old_start = r_start[r]
                for u in range(length):
                    r_idx[old_start + u] = new_idx[new_start[q] + u]
                    r_num[old_start + u] = new_num[new_start[q] + u]
                r_len[r] = length
                r_den[r] = new_den[q]
            r_live[r] = new_len[q]
            if row_primary[r] or row_single[r]:
                _count_row(r, r_hash[r], -1, row_primary, row_single, prim_h, sing_h, both_h)
                _count_row(r, new_hash[q], 1, row_primary, row_single, prim_h, sing_h, both_h)
                r_hash[r] = new_hash[q]
                r_f1[r] = new_f1[q]
                r_f2[r] = new_f2[q]
        p_len[k] = 0
        if fixes:
            dead[k] = True
            step += 1
            continue
        for q in range(nv):
            kk = vi[q]
            if kk == k:
                continue
            for qq in range(n_users):
                r = users[qq]
                # r uses kk after the update unless it cancelled; stale entries are harmless.
                if p_len[kk] == p_cap[kk]:
                    cap = 2 * p_cap[kk] + 2
                    p_rows = _grow(p_rows, ptop + cap)
                    for t in range(p_len[kk]):
                        p_rows[ptop + t] = p_rows[p_start[kk] + t]
                    p_start[kk] = ptop
                    p_cap[kk] = cap
                    ptop += cap
                p_rows[p_start[kk] + p_len[kk]] = r
                p_len[kk] += 1
            # A list that doubled since its last compaction sheds stale and repeated users.
            if p_len[kk] > max(64, 2 * p_mark[kk]):
                _compact(kk, p_rows, p_start, p_len, r_idx, r_start, r_len, stamp, step)
                p_mark[kk] = p_len[kk]
        step += 1
    return status, False, order.shape[0], True, modulus


@njit(cache=True)
def _fingerprints(r_idx, r_num, r_start, r_len, r_live, dead, row_primary, row_single, fp):
    """The random forms mod ``fp``, the primary and singleton rows' forms and fingerprints,
    and the fingerprint counts."""
    n_inner = dead.shape[0]
    n_rows = r_start.shape[0]
    form1 = _forms(n_inner, 1, fp)
    form2 = _forms(n_inner, 2, fp)
    r_f1 = np.zeros(n_rows, dtype=np.int64)
    r_f2 = np.zeros(n_rows, dtype=np.int64)
    r_hash = np.zeros(n_rows, dtype=np.int64)
    prim_h = Dict.empty(key_type=types.int64, value_type=types.int64)
    sing_h = Dict.empty(key_type=types.int64, value_type=types.int64)
    both_h = Dict.empty(key_type=types.int64, value_type=types.int64)
    for r in range(n_rows):
        if row_primary[r] or row_single[r]:
            f1, f2 = _row_forms(r_idx, r_num, r_start[r], r_len[r], dead, form1, form2, fp)
            r_f1[r] = f1
            r_f2[r] = f2
            r_hash[r] = _fingerprint(f1, f2, r_live[r], fp)
            _count_row(r, r_hash[r], 1, row_primary, row_single, prim_h, sing_h, both_h)
    return form1, form2, r_f1, r_f2, r_hash, prim_h, sing_h, both_h


@njit(cache=True)
def _to_modular(r_num, r_start, r_len, r_den, q):
    """Rows from exact rationals to residues mod the prime q, in place (False if q divides
    a denominator). An entry that becomes 0 stays a live entry, as it is over the rationals."""
    for r in range(r_start.shape[0]):
        if r_den[r] % q == 0:
            return False
    for r in range(r_start.shape[0]):
        inv = _inverse(_mod(r_den[r], q), q)
        for u in range(r_start[r], r_start[r] + r_len[r]):
            r_num[u] = _mod(r_num[u], q) * inv % q
        r_den[r] = 1
    return True


@njit(cache=True)
def _count_row(r, h, delta, row_primary, row_single, prim_h, sing_h, both_h):
    """Add (or remove) a primary/singleton row's fingerprint to the counts."""
    if row_primary[r]:
        _add_count(prim_h, h, delta)
    if row_single[r]:
        _add_count(sing_h, h, delta)
    if row_primary[r] and row_single[r]:
        _add_count(both_h, h, delta)


@njit(cache=True)
def _compact(k, p_rows, p_start, p_len, r_idx, r_start, r_len, stamp, step):
    """Drop duplicate and stale users of parameter k."""
    w = p_start[k]
    for t in range(p_start[k], p_start[k] + p_len[k]):
        r = p_rows[t]
        if stamp[r] == -2 - step:
            continue
        if _find(r_idx, r_start[r], r_len[r], k) >= 0:
            stamp[r] = -2 - step
            p_rows[w] = r
            w += 1
    # Reset the marks so later steps' stamps are unaffected.
    for t in range(p_start[k], w):
        stamp[p_rows[t]] = step
    p_len[k] = w - p_start[k]


@njit(cache=True)
def _singleton_clash(
    users, n_users, new_hash, r_hash, row_primary, row_single, prim_h, sing_h, both_h
):
    """After the update, is some primary row parallel to a different singleton row?"""
    d_prim = Dict.empty(key_type=types.int64, value_type=types.int64)
    d_sing = Dict.empty(key_type=types.int64, value_type=types.int64)
    d_both = Dict.empty(key_type=types.int64, value_type=types.int64)
    for q in range(n_users):
        r = users[q]
        if not (row_primary[r] or row_single[r]):
            continue
        for h, delta in ((r_hash[r], -1), (new_hash[q], 1)):
            if h == _EMPTY_HASH:
                continue
            if row_primary[r]:
                d_prim[h] = d_prim.get(h, 0) + delta
            if row_single[r]:
                d_sing[h] = d_sing.get(h, 0) + delta
            if row_primary[r] and row_single[r]:
                d_both[h] = d_both.get(h, 0) + delta
    for q in range(n_users):
        r = users[q]
        if not (row_primary[r] or row_single[r]):
            continue
        h = new_hash[q]
        if h == _EMPTY_HASH:
            continue
        n_p = prim_h.get(h, 0) + d_prim.get(h, 0)
        n_s = sing_h.get(h, 0) + d_sing.get(h, 0)
        n_b = both_h.get(h, 0) + d_both.get(h, 0)
        if n_p >= 1 and n_s >= 1 and not (n_p == 1 and n_s == 1 and n_b == 1):
            return True
    return False
