//! Anonymisation of a published table by cell suppression.
//!
//! What is published of a table over some dimensions: every cell, the total of every value of
//! each dimension (its margin) and the grand total. A count between 1 and k−1 describes too few
//! people and is suppressed (primary suppression). Publishing the rest could still give it
//! away: a row total minus the other cells of the row *is* the suppressed cell. So further
//! values are suppressed (complementary suppression) until no suppressed value is determined by
//! the published ones.
//!
//! "Determined" is decided exactly, not by a rule of thumb: every published total is a linear
//! equation over the cells; a suppressed value is determined when its unit vector lies in the
//! row space of those equations restricted to the suppressed values (after the published ones
//! are moved to the right-hand side). That is checked by Gaussian elimination. As long as some
//! suppressed value is determined, the smallest published value sharing an equation with it is
//! suppressed too; each round suppresses more, so the loop ends (at worst with everything
//! suppressed).

/// A table of counts: `shape[d]` values along dimension `d`, cells in row-major order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    pub shape: Vec<usize>,
    pub cells: Vec<u64>,
}

/// What may be published of a table: `None` where a value is suppressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    pub cells: Vec<Option<u64>>,
    /// `margins[d][v]`: the total of value `v` of dimension `d`. Empty for a table of one
    /// dimension (its margins are its cells).
    pub margins: Vec<Vec<Option<u64>>>,
    pub total: Option<u64>,
}

impl Table {
    pub fn new(shape: Vec<usize>) -> Self {
        let n = shape.iter().product();
        Self { shape, cells: vec![0; n] }
    }

    /// The cell at these coordinates (one per dimension).
    pub fn index(&self, coords: &[usize]) -> usize {
        coords.iter().zip(&self.shape).fold(0, |acc, (c, s)| acc * s + c)
    }

    /// The coordinates of a cell.
    pub fn coords(&self, mut index: usize) -> Vec<usize> {
        let mut out = vec![0; self.shape.len()];
        for d in (0..self.shape.len()).rev() {
            out[d] = index % self.shape[d];
            index /= self.shape[d];
        }
        out
    }

    fn margins(&self) -> Vec<Vec<u64>> {
        if self.shape.len() < 2 {
            return Vec::new();
        }
        let mut m: Vec<Vec<u64>> = self.shape.iter().map(|&s| vec![0; s]).collect();
        for (i, &c) in self.cells.iter().enumerate() {
            for (d, v) in self.coords(i).into_iter().enumerate() {
                m[d][v] += c;
            }
        }
        m
    }
}

/// Every published value is an item: the cells, then the margins dimension by dimension, then
/// the grand total.
struct Items {
    values: Vec<u64>,
    /// Each equation: the items whose signed sum is zero (a total minus its parts).
    equations: Vec<Vec<(usize, f64)>>,
    cells: usize,
    /// `margin_item[d][v]`: the item of the margin of value `v` of dimension `d`.
    margin_item: Vec<Vec<usize>>,
}

impl Items {
    fn of(t: &Table) -> Self {
        let cells = t.cells.len();
        let margins = t.margins();
        let mut values = t.cells.clone();
        let mut margin_item: Vec<Vec<usize>> = Vec::new();
        for m in &margins {
            margin_item.push((values.len()..values.len() + m.len()).collect());
            values.extend(m);
        }
        let total_item = values.len();
        values.push(t.cells.iter().sum());
        let mut equations: Vec<Vec<(usize, f64)>> = Vec::new();
        for (d, items) in margin_item.iter().enumerate() {
            for (v, &item) in items.iter().enumerate() {
                let mut eq = vec![(item, 1.0)];
                eq.extend((0..cells).filter(|&i| t.coords(i)[d] == v).map(|i| (i, -1.0)));
                equations.push(eq);
            }
        }
        let mut grand = vec![(total_item, 1.0)];
        grand.extend((0..cells).map(|i| (i, -1.0)));
        equations.push(grand);
        Self { values, equations, cells, margin_item }
    }
}

/// The suppressed items whose value the published ones determine.
fn determined(items: &Items, suppressed: &[bool]) -> Vec<usize> {
    let unknowns: Vec<usize> = (0..items.values.len()).filter(|&i| suppressed[i]).collect();
    if unknowns.is_empty() {
        return Vec::new();
    }
    let column: std::collections::HashMap<usize, usize> = unknowns.iter().enumerate().map(|(c, &i)| (i, c)).collect();
    let mut rows: Vec<Vec<f64>> = items
        .equations
        .iter()
        .map(|eq| {
            let mut row = vec![0.0; unknowns.len()];
            for (item, coef) in eq {
                if let Some(&c) = column.get(item) {
                    row[c] += coef;
                }
            }
            row
        })
        .filter(|r| r.iter().any(|v| v.abs() > EPS))
        .collect();
    let pivots = reduce(&mut rows, unknowns.len());
    // In reduced row echelon form, a unit vector lies in the row space exactly when it is a
    // pivot row with no other non-zero entry.
    pivots
        .into_iter()
        .filter(|&(r, c)| rows[r].iter().enumerate().all(|(j, v)| j == c || v.abs() <= EPS))
        .map(|(_, c)| unknowns[c])
        .collect()
}

const EPS: f64 = 1e-9;

/// Gauss–Jordan elimination with partial pivoting; returns (row, column) of each pivot.
fn reduce(rows: &mut [Vec<f64>], width: usize) -> Vec<(usize, usize)> {
    let mut pivots = Vec::new();
    let mut r = 0;
    for c in 0..width {
        if r == rows.len() {
            break;
        }
        let Some(best) = (r..rows.len()).max_by(|&a, &b| rows[a][c].abs().total_cmp(&rows[b][c].abs())) else { break };
        if rows[best][c].abs() <= EPS {
            continue;
        }
        rows.swap(r, best);
        let p = rows[r][c];
        for v in rows[r].iter_mut() {
            *v /= p;
        }
        let pivot_row = rows[r].clone();
        for (i, row) in rows.iter_mut().enumerate() {
            let f = row[c];
            if i != r && f.abs() > EPS {
                for (x, y) in row.iter_mut().zip(&pivot_row) {
                    *x -= f * y;
                }
            }
        }
        pivots.push((r, c));
        r += 1;
    }
    pivots
}

/// Suppresses what must be suppressed for threshold `k` (k ≤ 1 publishes everything).
pub fn suppress(t: &Table, k: u64) -> Published {
    let items = Items::of(t);
    let n = items.values.len();
    let mut suppressed: Vec<bool> = items.values.iter().map(|&v| v > 0 && v < k).collect();
    loop {
        let exposed = determined(&items, &suppressed);
        if exposed.is_empty() {
            break;
        }
        // One exposed value at a time: its protection often protects others too.
        let added = protection(t, &items, &suppressed, exposed[0]);
        if added.is_empty() {
            // No pattern can hide it (a table of one cell): give up on precision, not on
            // privacy.
            suppressed = vec![true; n];
            break;
        }
        for j in added {
            suppressed[j] = true;
        }
    }
    let value = |i: usize| (!suppressed[i]).then_some(items.values[i]);
    let mut next = items.cells;
    let margins = t
        .margins()
        .iter()
        .map(|m| {
            let out = (next..next + m.len()).map(value).collect();
            next += m.len();
            out
        })
        .collect();
    Published { cells: (0..items.cells).map(value).collect(), margins, total: value(n - 1) }
}

/// What suppressing costs: the count hidden, with a zero dearer than any count (a suppressed
/// zero next to a small count bounds it tightly) and what is suppressed already free.
fn cost(items: &Items, suppressed: &[bool], j: usize) -> u64 {
    match (suppressed[j], items.values[j]) {
        (true, _) => 0,
        (false, 0) => 1 << 40,
        (false, v) => v,
    }
}

/// The cheapest set of values whose suppression (with what is suppressed already) leaves item
/// `i` undetermined; empty when there is none. Each pattern carries a change of the hidden
/// values that keeps every published total, so `i` cannot be recomputed once all of it is
/// suppressed:
/// - a cell: the corners of a box through it (one other value along every dimension with more
///   than one), signs alternating: every margin line through the box crosses it twice, with
///   opposite signs;
/// - a margin `m[d][v]`: another margin `m[d][w]` and the two cells `(v, rest)` and `(w, rest)`.
fn protection(t: &Table, items: &Items, suppressed: &[bool], i: usize) -> Vec<usize> {
    let price = |set: &[usize]| -> u64 { set.iter().map(|&j| cost(items, suppressed, j)).fold(0u64, u64::saturating_add) };
    let mut best: Option<(u64, Vec<usize>)> = None;
    let mut consider = |set: Vec<usize>| {
        let p = price(&set);
        if best.as_ref().is_none_or(|(b, _)| p < *b) {
            best = Some((p, set));
        }
    };
    if i < items.cells {
        let at = t.coords(i);
        let free: Vec<usize> = (0..t.shape.len()).filter(|&d| t.shape[d] > 1).collect();
        if free.is_empty() {
            return Vec::new();
        }
        // Every choice of one other value per free dimension.
        let mut choice: Vec<usize> = free.iter().map(|&d| usize::from(at[d] == 0)).collect();
        loop {
            let mut corners = Vec::with_capacity(1 << free.len());
            for mask in 0..(1usize << free.len()) {
                let mut c = at.clone();
                for (b, &d) in free.iter().enumerate() {
                    if mask >> b & 1 == 1 {
                        c[d] = choice[b];
                    }
                }
                corners.push(t.index(&c));
            }
            consider(corners);
            // The next choice, skipping each dimension's own value.
            let mut b = 0;
            loop {
                if b == free.len() {
                    return finish(best, suppressed);
                }
                let d = free[b];
                choice[b] += 1;
                if choice[b] == at[d] {
                    choice[b] += 1;
                }
                if choice[b] < t.shape[d] {
                    break;
                }
                choice[b] = usize::from(at[d] == 0);
                b += 1;
            }
        }
    }
    for (d, margin) in items.margin_item.iter().enumerate() {
        let Some(v) = margin.iter().position(|&m| m == i) else { continue };
        for (w, &other) in margin.iter().enumerate() {
            if w == v {
                continue;
            }
            for c in 0..items.cells {
                let at = t.coords(c);
                if at[d] != v {
                    continue;
                }
                let mut there = at.clone();
                there[d] = w;
                consider(vec![other, c, t.index(&there)]);
            }
        }
    }
    finish(best, suppressed)
}

fn finish(best: Option<(u64, Vec<usize>)>, suppressed: &[bool]) -> Vec<usize> {
    best.map(|(_, set)| set.into_iter().filter(|&j| !suppressed[j]).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(shape: &[usize], cells: &[u64]) -> Table {
        Table { shape: shape.to_vec(), cells: cells.to_vec() }
    }

    #[test]
    fn nothing_small_nothing_suppressed() {
        let p = suppress(&table(&[2, 2], &[10, 20, 30, 40]), 10);
        assert_eq!(p.cells, [Some(10), Some(20), Some(30), Some(40)]);
        assert_eq!(p.margins, [vec![Some(30), Some(70)], vec![Some(40), Some(60)]]);
        assert_eq!(p.total, Some(100));
    }

    #[test]
    fn a_small_cell_takes_a_partner_in_its_row_and_column() {
        // 3 in the corner: its row total minus 50 would give it away, and so would its column.
        let p = suppress(&table(&[2, 2], &[3, 50, 60, 70]), 10);
        assert_eq!(p.cells, [None, None, None, None], "in a 2×2 table the four cells protect each other");
        assert_eq!(p.total, Some(183));
        let p = suppress(&table(&[3, 3], &[3, 50, 40, 60, 70, 80, 90, 95, 99]), 10);
        assert_eq!(p.cells.iter().filter(|c| c.is_none()).count(), 4, "{p:?}");
        assert_eq!(p.cells[0], None);
    }

    #[test]
    fn a_small_margin_is_suppressed_and_protected() {
        // Row 0 holds 2 + 0 people: its total is small as well.
        let p = suppress(&table(&[2, 2], &[2, 0, 60, 70]), 10);
        assert_eq!(p.margins[0][0], None);
        assert!(p.cells[0].is_none());
        assert!(p.margins[0].iter().all(Option::is_none) || p.total.is_none(), "{p:?}");
    }

    #[test]
    fn a_rare_group_in_a_big_table_costs_few_complementary_cells() {
        // gender (female, male, unknown) × 8 age bands × 6 provinces; the sixth is rare.
        let mut t = Table::new(vec![3, 8, 6]);
        for g in 0..2 {
            for a in 0..7 {
                for p in 0..5 {
                    let i = t.index(&[g, a, p]);
                    t.cells[i] = 300 + (g * 7 + a * 13 + p * 29) as u64 % 200;
                }
            }
        }
        let (i, j) = (t.index(&[0, 5, 5]), t.index(&[1, 5, 5]));
        t.cells[i] = 4;
        t.cells[j] = 3;
        let p = suppress(&t, 10);
        let suppressed = p.cells.iter().filter(|c| c.is_none()).count();
        // A box through the two rare cells: 2×2×2 corners, six of them complementary.
        assert!(suppressed <= 8, "{suppressed} cells suppressed: {p:?}");
    }

    #[test]
    fn one_dimension_and_no_dimension() {
        let p = suppress(&table(&[3], &[5, 100, 200]), 10);
        assert_eq!(p.cells[0], None);
        assert_eq!(p.cells.iter().filter(|c| c.is_none()).count(), 2);
        assert_eq!(p.total, Some(305));
        assert!(p.margins.is_empty());
        assert_eq!(suppress(&table(&[], &[4]), 10).total, None);
        assert_eq!(suppress(&table(&[], &[40]), 10).total, Some(40));
    }

    /// Rank over the rationals, exactly (fraction-free elimination; the matrices are small).
    fn exact_rank(mut m: Vec<Vec<i128>>) -> usize {
        let width = m.first().map_or(0, Vec::len);
        let (mut rank, mut prev) = (0, 1i128);
        for c in 0..width {
            let Some(p) = (rank..m.len()).find(|&r| m[r][c] != 0) else { continue };
            m.swap(rank, p);
            for r in rank + 1..m.len() {
                for j in c + 1..width {
                    m[r][j] = (m[r][j] * m[rank][c] - m[rank][j] * m[r][c]) / prev;
                }
                m[r][c] = 0;
            }
            prev = m[rank][c];
            rank += 1;
        }
        rank
    }

    /// Whether a suppressed value is determined by the published ones, decided independently of
    /// the implementation: it is exactly when dropping its column lowers the rank of the
    /// equations over the suppressed values (no solution of the homogeneous system moves it).
    fn recomputable(t: &Table, p: &Published) -> Option<usize> {
        let items = Items::of(t);
        let mut published: Vec<Option<u64>> = p.cells.clone();
        for m in &p.margins {
            published.extend(m);
        }
        published.push(p.total);
        let unknowns: Vec<usize> = (0..published.len()).filter(|&i| published[i].is_none()).collect();
        let matrix = |skip: Option<usize>| -> Vec<Vec<i128>> {
            items
                .equations
                .iter()
                .map(|eq| {
                    unknowns
                        .iter()
                        .filter(|&&u| Some(u) != skip)
                        .map(|&u| eq.iter().filter(|(i, _)| *i == u).map(|(_, c)| *c as i128).sum())
                        .collect()
                })
                .collect()
        };
        let full = exact_rank(matrix(None));
        unknowns.iter().copied().find(|&u| exact_rank(matrix(Some(u))) < full)
    }

    fn arbitrary_table() -> impl proptest::strategy::Strategy<Value = (Table, u64)> {
        use proptest::prelude::*;
        (prop::collection::vec(1usize..=4, 0..=3), 2u64..=10).prop_flat_map(|(shape, k)| {
            let n: usize = shape.iter().product();
            // Mostly small counts, so that suppression has work to do; zeros too.
            let count = prop_oneof![Just(0u64), 1u64..10, 10u64..60];
            prop::collection::vec(count, n).prop_map(move |cells| (Table { shape: shape.clone(), cells }, k))
        })
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]
        #[test]
        fn no_small_value_is_published_or_recomputable((t, k) in arbitrary_table()) {
            let p = suppress(&t, k);
            let margins = t.margins();
            let total: u64 = t.cells.iter().sum();
            let truth = t.cells.iter().chain(margins.iter().flatten()).chain(std::iter::once(&total));
            let shown = p.cells.iter().chain(p.margins.iter().flatten()).chain(std::iter::once(&p.total));
            for (real, published) in truth.zip(shown) {
                if let Some(v) = published {
                    proptest::prop_assert_eq!(v, real, "a published value is the true one");
                    proptest::prop_assert!(*v == 0 || *v >= k, "published {} below k = {}", v, k);
                }
            }
            proptest::prop_assert_eq!(recomputable(&t, &p), None, "{:?} → {:?}", t, p);
        }
    }
}
