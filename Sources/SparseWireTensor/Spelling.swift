/// Edit distance for "did you mean …?" suggestions in error messages (config keys, policies).
public enum Spelling {
    /// Levenshtein distance: the fewest single-character insertions, deletions and
    /// substitutions that turn `a` into `b`.
    public static func distance(_ a: String, _ b: String) -> Int {
        let a = Array(a), b = Array(b)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }

    /// The candidate nearest to `s` and its distance (the first of equals), nil for no candidates.
    public static func closest(_ s: String, in candidates: [String]) -> (String, Int)? {
        var best: (String, Int)?
        for c in candidates {
            let d = distance(s, c)
            if best == nil || d < best!.1 { best = (c, d) }
        }
        return best
    }
}
