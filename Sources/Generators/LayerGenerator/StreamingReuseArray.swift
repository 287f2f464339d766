import GoldenModel
import Verilog

/// M1 with contiguous ranks on the hand-written rtl/approxrtl_reuse_array.v (docs/rtl.md, "Layer units"): the
/// lanes form each part's moments with suffix-sum adders and hand them to the pools as the part ends (a capture
/// and a walk register per moment, the walk registers shifting towards the pool; no moment memories); each pool
/// multiplies coefficient digits by moments, Horner style, and keeps its lanes' sums in a ring. The generated module
/// sets the parameters and writes the ROM images.
///
/// The generator chooses the pools and the digit width: the smallest pools by `poolCost` whose walks cost at most
/// `slack` of the MAC array's compute cycles in hold words and tail, and says what it chose.
struct StreamingReuseArray {
    let numbers: LayerNumbers
    let lanes: Int
    let name: String

    static let sources = ["rtl/approxrtl_reuse_array.v"]
    /// Compute cycles the pools may add over the plain-MAC array's Channels * Fan + 5.
    static let slack = 0.08

    /// LUT4s of one pool on a LUT-only mapping, roughly (fitted to Yosys's synth_ecp5 -nodsp): about four per bit
    /// of the digit x moment product, and the Horner and lane-sum adders, their multiplexers and the requantizer.
    static func poolCost(multiplierBits: Int, momentWidth: Int, accumulatorWidth: Int) -> Int {
        4 * multiplierBits * momentWidth + 6 * accumulatorWidth + 120
    }

    /// What a pool size and digit width cost: the walk per part, the member ROM with its hold words, the cycles.
    struct Schedule {
        var multipliers: Int
        var digits: Int
        var digitWidth: Int
        var walk: Int
        var words: [Int]
        var computeCycles: Int
        /// The hold words among `words`: cycles where a part was shorter than a walk.
        var holds: Int
    }

    /// The sorted parts of every channel (each channel's parts in rank order).
    static func channelParts(_ plan: ReusePlan) -> [[ReusePlan.Part]] {
        plan.channels.map { channel -> [ReusePlan.Part] in
            if case .sorted(let list) = channel { return list }
            return []
        }
    }

    /// The member ROM for walks of `walk` cycles, {hold, channel end, part end, input address} per word,
    /// each part in descending rank, and the compute cycles, from the RTL's timing: the part ending at word w is
    /// captured at cycle w + 3; its walk starts a cycle later, or in the previous walk's last cycle if that is
    /// later, copies the capture into the walk registers and lasts `walk` cycles; the pipeline drains 6 cycles
    /// after the last walk. Hold words go before a part wherever it would end before the previous part's walk has
    /// started (its capture would be overwritten), or a channel's first part would end within 2 cycles of the
    /// previous channel's last.
    static func memberWords(_ parts: [[ReusePlan.Part]], tapBits: Int, walk: Int)
        -> (words: [Int], holds: Int, cycles: Int)
    {
        var words: [Int] = [], holds = 0
        // The previous part's capture, walk start and walk end.
        var lastCapture: Int?, lastStart: Int?, lastEnd: Int?
        for list in parts {
            for (p, part) in list.enumerated() {
                let count = part.inputs.count
                var capture = words.count + count + 2
                // After a channel's last part the bias and shift ROMs move to the next channel a cycle late.
                var earliest = p == 0 ? lastCapture.map { $0 + 2 } ?? 0 : 0
                if let start = lastStart { earliest = max(earliest, start) }
                if capture < earliest {
                    words += Array(repeating: 1 << (tapBits + 2), count: earliest - capture)
                    holds += earliest - capture
                    capture = earliest
                }
                for u in stride(from: count - 1, through: 0, by: -1) {
                    var word = part.inputs[u]
                    if u == 0 { word |= 1 << tapBits }
                    if u == 0 && p == list.count - 1 { word |= 1 << (tapBits + 1) }
                    words.append(word)
                }
                let start = max(capture + 1, lastEnd ?? 0)
                (lastCapture, lastStart, lastEnd) = (capture, start, start + walk)
            }
        }
        return (words, holds, (lastEnd ?? words.count + 2) + 6)
    }

    /// A coefficient of `width` bits as `digits` signed words of the Horner walk, most significant first: the top
    /// digit two's complement, the others unsigned (one bit wider, so every word is signed).
    static func digitWords(_ value: Int, width: Int, digits: Int) -> [Int] {
        guard digits > 1 else { return [value] }
        let k = (width + digits - 1) / digits
        return (0..<digits).reversed().map { d -> Int in
            let digit = (value >> (k * d)) & ((1 << k) - 1)
            if d == digits - 1 { return digit >= 1 << (k - 1) ? digit - (1 << k) : digit }
            return digit
        }
    }

    /// The digit counts worth trying for a coefficient width: each distinct digit width once.
    static func digitChoices(_ width: Int) -> [Int] {
        var seen = Set<Int>(), result: [Int] = []
        for d in 1...width {
            let k = (width + d - 1) / d
            if seen.insert(k).inserted { result.append((width + k - 1) / k) }
        }
        return result
    }

    func schedule(_ parts: [[ReusePlan.Part]], terms: Int, width: Int, momentWidth: Int, multipliers: Int?)
        -> Schedule
    {
        let tapBits = unsignedBits(numbers.fan - 1)
        let pools = multipliers.map { [$0] } ?? (1...lanes).filter { lanes % $0 == 0 }
        let mac = Double(numbers.channels * numbers.fan + 5)
        var best: (schedule: Schedule, cost: Int)?
        var fastest: Schedule?
        for m in pools {
            for d in Self.digitChoices(width) {
                let k = d == 1 ? width : (width + d - 1) / d
                let walk = (lanes / m) * terms * d
                let (words, holds, cycles) = Self.memberWords(parts, tapBits: tapBits, walk: walk)
                let schedule = Schedule(
                    multipliers: m, digits: d, digitWidth: k, walk: walk, words: words, computeCycles: cycles,
                    holds: holds)
                if fastest == nil || schedule.computeCycles < fastest!.computeCycles { fastest = schedule }
                guard Double(schedule.computeCycles) <= mac * (1 + Self.slack) else { continue }
                let cost =
                    m
                    * Self.poolCost(
                        multiplierBits: d == 1 ? width : k + 1, momentWidth: momentWidth,
                        accumulatorWidth: numbers.accumulatorWidth)
                if best == nil || cost < best!.cost
                    || (cost == best!.cost && schedule.computeCycles < best!.schedule.computeCycles)
                {
                    best = (schedule, cost)
                }
            }
        }
        return best?.schedule ?? fastest!
    }

    func generate(layout: ReuseArray.Layout, multipliers: Int?) throws -> (unit: GeneratedUnit, pool: Int) {
        guard let plan = numbers.plan, case .contiguous(let degree) = layout.scan else {
            throw GeneratorError(layer: numbers.layer.name, "internal: the streaming reuse array needs contiguous M1")
        }
        let parts = Self.channelParts(plan)
        let terms = degree + 1
        // The lanes form X, J and (quadratic) Q'; C1 J + C2 Q = (C1 - C2) J + 2 C2 Q' with Q = 2 Q' - J.
        let applied = parts.flatMap { $0 }.map { part -> [Int] in
            let c = part.coefficients
            return degree == 2 ? [c[0], c[1] - c[2], 2 * c[2]] : c
        }
        let flat = applied.flatMap { $0 }
        let cw = signedBits(flat.min() ?? 0, flat.max() ?? 0)
        let widths =
            [layout.momentWidths[0], layout.momentWidths[1]] + (degree == 2 ? [layout.runningWidths.qPrime] : [])
        let momentWidth = widths.max()!
        let s = schedule(parts, terms: terms, width: cw, momentWidth: momentWidth, multipliers: multipliers)
        let coefficients = flat.flatMap { Self.digitWords($0, width: cw, digits: s.digits) }
        let coefficientWidth = s.digits == 1 ? cw : s.digitWidth + 1
        let files = (
            members: "\(name)_members.hex", coefficients: "\(name)_coefficients.hex", bias: "\(name)_bias.hex",
            shift: "\(name)_shift.hex"
        )
        let parameters: [(String, Expr)] = [
            ("Lanes", .integer(lanes)), ("Multipliers", .integer(s.multipliers)), ("Fan", .integer(numbers.fan)),
            ("Channels", .integer(numbers.channels)),
            ("InWidth", .integer(numbers.inputWidth)), ("OutWidth", .integer(numbers.outputWidth)),
            ("AccWidth", .integer(numbers.accumulatorWidth)), ("ShiftWidth", .integer(numbers.shiftWidth)),
            ("MaxLeftShift", .integer(numbers.maxLeftShift)),
            ("MinShift", .integer(numbers.shifts.min()!)), ("MaxShift", .integer(numbers.shifts.max()!)),
            ("Relu", .integer(numbers.relu ? 1 : 0)),
            ("Degree", .integer(degree)), ("ScanDepth", .integer(s.words.count)),
            ("CoefDepth", .integer(coefficients.count)), ("DigitWidth", .integer(s.digitWidth)),
            ("Digits", .integer(s.digits)), ("CoefWidth", .integer(coefficientWidth)),
            ("SumWidth", .integer(widths[0])), ("JWidth", .integer(widths[1])),
            ("QPrimeWidth", .integer(degree == 2 ? layout.runningWidths.qPrime : 1)),
            ("MomentWidth", .integer(momentWidth)),
            ("MemberFile", .string("mem/" + files.members)), ("CoefFile", .string("mem/" + files.coefficients)),
            ("BiasFile", .string("mem/" + files.bias)), ("ShiftFile", .string("mem/" + files.shift)),
        ]
        let shell = StreamShell(numbers: numbers, lanes: lanes)
        let array = Instance(
            "approxrtl_reuse_array", "u_array", parameters: parameters,
            connections: shell.ports.map { ($0.name, Expr.name($0.name)) })
        let module = Module(name, comment: comment(s, degree: degree), ports: shell.ports, items: [.instance(array)])
        let tapBits = unsignedBits(numbers.fan - 1)
        let memories = [
            MemoryImage(file: files.members, width: tapBits + 3, values: s.words),
            MemoryImage(file: files.coefficients, width: coefficientWidth, values: coefficients),
            MemoryImage(file: files.bias, width: numbers.accumulatorWidth, values: numbers.bias),
            MemoryImage(file: files.shift, width: numbers.shiftWidth, values: numbers.shifts),
        ]
        let unit = GeneratedUnit(
            module: module, memories: memories, computeCycles: s.computeCycles,
            multipliers: [("coefficient digit x moment", s.multipliers, (coefficientWidth, momentWidth))],
            adders: adders(layout, degree: degree, pools: s.multipliers), sources: Self.sources)
        return (unit, s.multipliers)
    }

    func comment(_ s: Schedule, degree: Int) -> String {
        """
        \(numbers.layer.name): reuse array (\(degree == 1 ? "linear" : "quadratic"), contiguous ranks) for a \(numbers.fan)-input, \(numbers.channels)-output layer.
        \(lanes) lanes compute \(lanes) input vectors at once with suffix-sum adders in sorted order (the permutation is the member ROM's
        address sequence); \(s.multipliers) pool\(s.multipliers == 1 ? "" : "s") of one \(s.digitWidth)-bit-digit multiplier apply the coefficients after each part,
        \(s.digits) digit\(s.digits == 1 ? "" : "s") per coefficient, \(s.walk) cycles per part (docs/arithmetic.md section 7). \(s.holds) hold words wait for walks.
        Compute: \(s.computeCycles) cycles per batch. Generated by approxrtl: the parameters and ROM files of approxrtl_reuse_array;
        interface and timing in docs/rtl.md.
        """
    }

    /// The datapath's adders: per lane the suffix sums, per pool the Horner step, the lane sum and the rounding.
    func adders(_ layout: ReuseArray.Layout, degree: Int, pools: Int) -> [(what: String, count: Int, width: Int)] {
        let acc = numbers.accumulatorWidth
        var list: [(what: String, count: Int, width: Int)] = [
            ("S += x", lanes, layout.momentWidths[0]), ("J += S", lanes, layout.momentWidths[1]),
        ]
        if degree == 2 {
            list.append(("Q' += J", lanes, layout.runningWidths.qPrime))
        }
        return list + [
            ("Horner h * 2^k + digit * moment", pools, acc), ("lane sum", pools, acc),
            ("requantize rounding", pools, acc + numbers.maxLeftShift + 1),
        ]
    }
}
