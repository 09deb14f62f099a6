-- none
TRUE
-- args: []interface {}(nil)

-- eq_string
(`name` IS NOT NULL AND ifNull(`name` = ?, 0))
-- args: []interface {}{"GET /"}

-- ne_string
NOT (`name` IS NOT NULL AND ifNull(`name` = ?, 0))
-- args: []interface {}{"GET /"}

-- eq_two_types
((`a1` IS NOT NULL AND ifNull(`a1` = ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` = ?, 0)))
-- args: []interface {}{500, "500"}

-- gt_two_types_unconvertible
(`a2` IS NOT NULL AND ifNull(`a2` > ?, 0))
-- args: []interface {}{"abc"}

-- gt_int_by_fraction
((`a1` IS NOT NULL AND ifNull(toFloat64(`a1`) > ?, 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` > ?, 0)))
-- args: []interface {}{499.5, "499.5"}

-- le_float_from_int
(`duration_ms` IS NOT NULL AND ifNull(`duration_ms` <= ?, 0))
-- args: []interface {}{100}

-- bool_eq
(`a3` IS NOT NULL AND ifNull(`a3` = ?, 0))
-- args: []interface {}{true}

-- starts_with_int
((`a1` IS NOT NULL AND ifNull(startsWith(toString(`a1`), ?), 0)) OR (`a2` IS NOT NULL AND ifNull(startsWith(`a2`, ?), 0)))
-- args: []interface {}{"5", "5"}

-- does_not_end_with
NOT (`name` IS NOT NULL AND ifNull(endsWith(`name`, ?), 0))
-- args: []interface {}{"/health"}

-- contains
(`name` IS NOT NULL AND ifNull((position(`name`, ?) > 0), 0))
-- args: []interface {}{"api"}

-- does_not_contain
NOT (`name` IS NOT NULL AND ifNull((position(`name`, ?) > 0), 0))
-- args: []interface {}{"api"}

-- exists
((`a1` IS NOT NULL) OR (`a2` IS NOT NULL))
-- args: []interface {}(nil)

-- does_not_exist
NOT (`a3` IS NOT NULL)
-- args: []interface {}(nil)

-- in
((`a1` IS NOT NULL AND ifNull(`a1` IN (?, ?), 0)) OR (`a2` IS NOT NULL AND ifNull(`a2` IN (?, ?, ?), 0)))
-- args: []interface {}{500, 503, "500", "503", "x"}

-- not_in
NOT (`name` IS NOT NULL AND ifNull(`name` IN (?, ?), 0))
-- args: []interface {}{"a", "b"}

-- overflow
(`ov_str`[?] IS NOT NULL AND ifNull(`ov_str`[?] = ?, 0))
-- args: []interface {}{"rare", "rare", "x"}

-- unknown_eq
FALSE
-- args: []interface {}(nil)

-- unknown_ne
NOT FALSE
-- args: []interface {}(nil)

-- quoted_identifier
(`we"ird` IS NOT NULL AND ifNull(`we"ird` = ?, 0))
-- args: []interface {}{"'; DROP TABLE x; --"}

-- and
((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) AND (`duration_ms` IS NOT NULL AND ifNull(`duration_ms` > ?, 0)))
-- args: []interface {}{"a", 10}

-- or
((`name` IS NOT NULL AND ifNull(`name` = ?, 0)) OR NOT (`a3` IS NOT NULL))
-- args: []interface {}{"a"}

