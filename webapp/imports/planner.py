"""Planning an import's lines: what each line does to which profile, validated, without writing anything.

Shared by the preview and the line-by-line path of a run (see ``Planner``).
"""

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from webapp.extensions import db
from webapp.imports import staging as import_staging
from webapp.imports.cells import CellCoercer
from webapp.imports.files import Row
from webapp.imports.lines import FieldRules, Held, LineRejected, LineResult, State, normalize_date
from webapp.imports.mapping import Schema, parse_target
from webapp.models import (
    Account,
    Collection,
    Field,
    ImportDefinition,
    Profile,
    Subprofile,
)
from webapp.platform.errors import ValidationError
from webapp.profiles.field_expressions import dialect_name, sort_literal, sort_value
from webapp.profiles.field_types import FieldValueError, format_value, get_field_type
from webapp.profiles.flags import parse_flag
from webapp.profiles.values import match_literal, validate_interests, validate_values

LOOKUP_CHUNK = 500


LOOKUP_CHUNK_POSTGRESQL = 10_000  # one IN list per 10,000 keys (SQLite allows fewer bound parameters)


# A mapped column: (column, kind, field key, coercer, owner). Which parts are set depends on the kind: a field
# or collection cell has a field key and its CellCoercer, a collection cell's owner is the collection id, an
# interest cell's owner is the Interest (and it has no key or coercer).
_Cell = tuple[str, str, Any, Any, Any]


class Planner:
    """Decides what each line does to which profile, validating it; writes nothing itself.

    Cells are coerced through one ``CellCoercer`` per field (each distinct value once, see
    ``cells``); the rules of ``values.validate_values`` (defaults, required fields) are applied to
    the coerced values here, and a field list with reference or unique fields goes through
    ``validate_values`` itself (their checks query the database).
    """

    def __init__(self, account: Account, definition: ImportDefinition, schema: Schema, *, show: bool = False):
        self.account = account
        self.schema = schema
        self.show = show  # LineResult.values (the preview shows them; applying does not need them)
        self.on_match, self.on_no_match, self.on_empty = (
            definition.on_match,
            definition.on_no_match,
            definition.on_empty,
        )
        self.date_order = (definition.options or {}).get("date_order", "")
        self.targets = {column: parse_target(schema, target) for column, target in definition.mapping.items()}
        self.key_fields: list[Field] = []
        self.collection_keys: dict[int, list[Field]] = {}  # a collection's key fields find its subprofile
        for name in definition.key_fields:
            if "." in name:
                pair = schema.collection_field(*name.split(".", 1))
                if pair is None:
                    raise ValidationError(_("There is no field named %(name)s.", name=name))
                self.collection_keys.setdefault(pair[0].id, []).append(pair[1])
                continue
            key_field = schema.field(name)
            if key_field is None:
                raise ValidationError(_("There is no field named %(name)s.", name=name))
            self.key_fields.append(key_field)
        self.key_columns = {
            target.field.name: column
            for column, target in self.targets.items()
            if target.kind == "field" and target.field is not None  # parse_target gives a field target its field
        }
        self.unique_fields = [f for f in schema.fields if f.unique]
        every_field = schema.fields + [f for _collection, fields in schema.collections.values() for f in fields]
        self.coercers = {f.key: CellCoercer(f, self._preparer(f)) for f in every_field}
        # (column, kind, field key, coercer, collection id or interest) of every mapped column
        self.cells: list[_Cell] = [
            (
                column,
                target.kind,
                target.field.key if target.field else None,
                self.coercers[target.field.key] if target.field else None,
                target.collection.id if target.collection else target.interest,
            )
            for column, target in self.targets.items()
            if target.kind != "ignore"
        ]
        self.key_parts = [
            (
                f,
                self.key_columns[f.name],
                self.coercers[f.key],
                str.lower if get_field_type(f.type).sort_as == "text" else str,
            )
            for f in self.key_fields
        ]
        self.rules: dict[int | None, FieldRules] = {None: FieldRules.of(schema.fields)}
        self.rules.update({c.id: FieldRules.of(fields) for c, fields in schema.collections.values()})
        self.merge: import_staging.BulkMerge | None = None
        self.ambiguous: set[tuple] = set()  # keys that matched several profiles (the preview warns)
        self.collection_ids = sorted({owner for _c, kind, _k, _co, owner in self.cells if kind == "collection"})
        self.subprofiles_known = 0  # lines whose subprofile the profile held already (not added again)
        self.reset()

    def _preparer(self, target_field: Field):
        if target_field.type not in ("date", "datetime"):
            return None
        return lambda raw: normalize_date(raw, target_field.type, self.date_order)

    def reset(self) -> None:
        self.by_key: dict[tuple, State] = {}
        self.keys: dict[int, Any] = {}
        self.states: list[State] = []
        self.claims: dict[str, dict[str, int]] = {f.key: {} for f in self.unique_fields}
        self.held: dict[tuple[int, int], list[Held]] = {}  # (profile, collection): its subprofiles

    # the line's cells, by what they map to
    def _split(self, row: Row):
        """Coerced values by field key (None clears), interest changes, subprofile values, cell errors."""
        values: dict[str, Any] = {}
        interests: dict[int, bool] = {}
        subs: dict[int, dict[str, Any]] = {}
        errors: list[tuple[str, str, str]] = []
        cells, leave_empty = row.values, self.on_empty == "leave"
        assert cells is not None, "plan() rejects a line without values first"
        for column, kind, key, coercer, owner in self.cells:
            raw = cells.get(column)
            if raw is None:
                continue
            empty = not raw.strip()
            if kind == "collection":
                if not empty:
                    try:
                        value = coercer(raw)
                    except FieldValueError as error:
                        errors.append((column, raw, str(error)))
                    else:
                        subs.setdefault(owner, {})[key] = value
                continue
            if empty and leave_empty:
                continue
            if kind == "interest":
                flag = parse_flag(raw)
                if flag is None:
                    errors.append((column, raw, _("Interest %(name)s must be yes or no (1 or 0).", name=owner.name)))
                else:
                    interests[owner.id] = flag
                continue
            if empty:
                values[key] = None
                continue
            try:
                values[key] = coercer(raw)
            except FieldValueError as error:
                errors.append((column, raw, str(error)))
        return values, interests, subs, errors

    def _key(self, row: Row) -> tuple[tuple, tuple] | None:
        """The line's key (match literals, stored values), or None without key fields (computed once)."""
        if not self.key_fields:
            return None
        if row.line not in self.keys:
            try:
                self.keys[row.line] = self._compute_key(row)
            except LineRejected as rejected:
                self.keys[row.line] = rejected
        found = self.keys[row.line]
        if isinstance(found, LineRejected):
            raise LineRejected(found.errors)
        return found

    def _compute_key(self, row: Row) -> tuple[tuple, tuple]:
        literals, stored = [], []
        assert row.values is not None, "load() and plan() skip a line without values"
        for key_field, column, coercer, literal in self.key_parts:
            raw = row.values.get(column, "")
            try:
                value = coercer(raw)
            except FieldValueError as error:
                raise LineRejected([(column, raw, str(error))]) from None
            if value is None or isinstance(value, list):
                raise LineRejected([(column, raw, _("Key field %(name)s is empty.", name=key_field.name))])
            literals.append(literal(str(value)))  # as values.match_literal has it
            stored.append(value)
        return tuple(literals), tuple(stored)

    def load(self, rows: list[Row]) -> None:
        """Find the profiles the rows' keys match: one query per ``LOOKUP_CHUNK`` keys."""
        if not self.key_fields:
            return
        wanted: dict[tuple, tuple] = {}
        for row in rows:
            if row.values is None:
                continue
            try:
                key = self._key(row)
            except LineRejected:
                continue
            assert key is not None, "a planner with key fields gives every line a key"
            if key[0] not in self.by_key:
                wanted[key[0]] = key[1]
        first, dialect = self.key_fields[0], dialect_name()
        firsts = sorted({sort_literal(first, stored[0], dialect) for stored in wanted.values()}, key=str)
        size = LOOKUP_CHUNK_POSTGRESQL if dialect == "postgresql" else LOOKUP_CHUNK
        for start in range(0, len(firsts), size):
            chunk = firsts[start : start + size]
            found = db.session.execute(
                select(Profile.id, Profile.fields, Profile.interests)
                .where(
                    Profile.account_id == self.account.id,
                    Profile.database_id == self.schema.database_id,
                    sort_value(first, dialect).in_(chunk),
                )
                .order_by(Profile.id)
            )
            for profile_id, fields, interests in found:
                values = [fields.get(f.key) for f in self.key_fields]
                if any(value is None for value in values):
                    continue
                literals = tuple(match_literal(f, value) for f, value in zip(self.key_fields, values, strict=True))
                if literals in wanted and literals in self.by_key:
                    self.ambiguous.add(literals)  # an older profile has this key too: that one is updated
                elif literals in wanted:
                    state = State(profile_id, dict(fields), list(interests or []), dict(fields), list(interests or []))
                    self.by_key[literals] = state
                    self.states.append(state)
        self._load_subprofiles([state.saved_id for state in self.states if not state.new])

    def _load_subprofiles(self, profile_ids: list[int]) -> None:
        """The values of the subprofiles the matched profiles hold in the collections the file writes."""
        if not self.collection_ids:
            return
        size = LOOKUP_CHUNK_POSTGRESQL if dialect_name() == "postgresql" else LOOKUP_CHUNK
        for start in range(0, len(profile_ids), size):
            for sub_id, profile_id, collection_id, fields in db.session.execute(
                select(Subprofile.id, Subprofile.profile_id, Subprofile.collection_id, Subprofile.fields).where(
                    Subprofile.profile_id.in_(profile_ids[start : start + size]),
                    Subprofile.collection_id.in_(self.collection_ids),
                )
            ):
                held = Held(sub_id, profile_id, collection_id, dict(fields), dict(fields))
                self.held.setdefault((profile_id, collection_id), []).append(held)

    def plan(self, row: Row) -> LineResult:
        """Validate one line and take it into the batch's states, or reject it whole."""
        if row.values is None:
            return LineResult(row.line, "reject", errors=[("", "", row.error)])
        try:
            return self._plan(row)
        except LineRejected as rejected:
            return LineResult(row.line, "reject", errors=rejected.errors)

    def _plan(self, row: Row) -> LineResult:
        values, interest_changes, subs, errors = self._split(row)
        key = self._key(row)
        if errors:
            raise LineRejected(errors)
        state = self.by_key.get(key[0]) if key else None
        if state is None and self.on_no_match == "ignore":
            return LineResult(row.line, "skip")
        if state is not None and self.on_match == "skip":
            return LineResult(row.line, "skip")
        if state is not None and self.on_match == "update_empty":
            values = {key: value for key, value in values.items() if state.fields.get(key) is None}
            interest_changes = {}
        current = state.fields if state else None
        stored = self._merge(row, None, values, current, state.id if state else None)
        current_interests = state.interests if state else []
        if interest_changes:
            new_interests = validate_interests(self.schema.interests, interest_changes, current_interests)
        else:
            new_interests = sorted(set(current_interests))
        new_subs = [
            (collection_id, self._merge(row, collection_id, sub_values, None, None))
            for collection_id, sub_values in subs.items()
        ]
        new_subs, subs_changed = self._new_subprofiles(row, state, new_subs)
        claims = self._check_unique(row, stored, state)
        if state is None:
            state = State(None, stored, new_interests, {}, [], new=True)
            self.states.append(state)
            if key:
                self.by_key[key[0]] = state
            action = "create"
        else:
            changed = stored != state.fields or new_interests != state.interests or new_subs or subs_changed
            state.fields, state.interests = stored, new_interests
            action = "update" if changed else "unchanged"
        state.subprofiles.extend(new_subs)
        for claim_key, literal in claims:
            self.claims[claim_key][literal] = id(state)
        if not self.show:
            return LineResult(row.line, action)
        shown = {f.name: format_value(f, stored.get(f.key)) for f in self.schema.fields if f.key in stored}
        for collection_id, sub_fields in new_subs:
            collection, fields = next(pair for pair in self.schema.collections.values() if pair[0].id == collection_id)
            shown.update(
                {
                    f"{collection.name}.{f.name}": format_value(f, sub_fields.get(f.key))
                    for f in fields
                    if f.key in sub_fields
                }
            )
        for interest in self.schema.interests:
            if interest.id in interest_changes:
                shown[interest.name] = interest.id in new_interests
        return LineResult(row.line, action, shown)

    def _new_subprofiles(self, row: Row, state: State | None, subs: list[tuple[int, dict[str, Any]]]):
        """The line's subprofiles to add, and whether it changed one its profile holds. A collection with key
        fields finds the subprofile with the same key (held, or added by an earlier line) and applies the
        policies to it; without key fields, a subprofile equal to one the profile holds adds nothing: a file
        imported again adds no subprofile twice."""
        fresh, changed = [], False
        for collection_id, values in subs:
            held = self.held.get((state.id, collection_id), []) if state is not None and state.id is not None else []
            added = [fields for owner, fields in state.subprofiles if owner == collection_id] if state else []
            keys = self.collection_keys.get(collection_id)
            if keys:
                found = self._by_collection_key(row, keys, values, held, added)
                if found is None:
                    if self.on_no_match == "create":
                        fresh.append((collection_id, values))
                elif self.on_match != "skip":
                    changed = self._merge_into(found, values) or changed
            elif any(values == sub.fields for sub in held) or values in added:
                self.subprofiles_known += 1
            else:
                fresh.append((collection_id, values))
        return fresh, changed

    def _by_collection_key(self, row: Row, keys: list[Field], values: dict, held: list, added: list):
        """The held subprofile's or an added subprofile's values whose key fields equal the line's; None."""
        wanted = tuple(_key_literal(values.get(f.key)) for f in keys)
        if any(literal is None for literal in wanted):
            empty = next(f for f, literal in zip(keys, wanted, strict=True) if literal is None)
            message = _("Key field %(name)s is empty.", name=empty.name)
            raise LineRejected([("", "", message)])
        for fields in [sub.fields for sub in held] + added:
            if tuple(_key_literal(fields.get(f.key)) for f in keys) == wanted:
                return fields
        return None

    def _merge_into(self, fields: dict[str, Any], values: dict[str, Any]) -> bool:
        """Apply a line's subprofile values to a subprofile's (in place) under the match policy."""
        merged = {**values, **fields} if self.on_match == "update_empty" else {**fields, **values}
        if merged == fields:
            self.subprofiles_known += 1
            return False
        fields.clear()
        fields.update(merged)
        return True

    def _column(self, name: str, collection: Collection | None) -> str:
        for column, target in self.targets.items():
            if target.field and target.field.name == name and target.collection == collection:
                return column
        return ""

    def _merge(
        self,
        row: Row,
        collection_id: int | None,
        values: dict[str, Any],
        current: dict[str, Any] | None,
        holder_id: int | None,
    ) -> dict[str, Any]:
        """``validate_values`` for coerced values keyed by field key: the new stored JSON, or the line's errors."""
        rules = self.rules[collection_id]
        collection = None
        if collection_id is not None:
            collection = next(c for c, _fields in self.schema.collections.values() if c.id == collection_id)
        if rules.checked:
            by_name = {rules.names[key]: value for key, value in values.items()}
            return self._validate(row, rules.fields, by_name, current, holder_id, collection)
        stored = dict(current) if current is not None else {}
        for key, value in values.items():
            if value is None:
                stored.pop(key, None)
            else:
                stored[key] = value
        if current is None:
            for key, default in rules.defaults:
                stored.setdefault(key, default)
        problems = []
        for required in rules.required:
            if stored.get(required.key) is None:
                assert row.values is not None, "plan() and stage() skip a line without values"
                column = self._column(required.name, collection)
                problems.append(
                    (
                        column,
                        row.values.get(column, "") if column else "",
                        _("%(name)s is required.", name=required.name),
                    )
                )
        if problems:
            raise LineRejected(problems)
        return stored

    def _validate(self, row, fields, values, current, holder_id, collection=None) -> dict[str, Any]:
        try:
            return validate_values(self.account, fields, values, current, holder_id=holder_id)
        except ValidationError as error:
            problems = []
            assert row.values is not None, "plan() and stage() skip a line without values"
            for name, message in error.errors.items():
                column = self._column(name, collection)
                problems.append((column, row.values.get(column, "") if column else "", message))
            raise LineRejected(problems) from None

    def _check_unique(self, row: Row, stored: dict[str, Any], state: State | None) -> list[tuple[str, str]]:
        """Two lines of one batch may not give two profiles the same unique value (the database
        check in ``validate_values`` cannot see profiles this batch has not inserted yet)."""
        mine = id(state) if state else None
        problems, claims = [], []
        for unique_field in self.unique_fields:
            value = stored.get(unique_field.key)
            if value is None:
                continue
            literal = match_literal(unique_field, value)
            owner = self.claims[unique_field.key].get(literal)
            if owner is not None and owner != mine:
                assert row.values is not None, "plan() rejects a line without values first"
                column = self._column(unique_field.name, None)
                problems.append(
                    (
                        column,
                        row.values.get(column, ""),
                        _("Another profile already has %(value)s as %(name)s.", value=value, name=unique_field.name),
                    )
                )
            claims.append((unique_field.key, literal))
        if problems:
            raise LineRejected(problems)
        return claims

    # the set-based path (PostgreSQL): validate in Python, match and merge in SQL

    def bulk_ready(self) -> bool:
        """Whether batches may take the set-based path: PostgreSQL, no collection key fields, no field whose
        checks query the database (unique, reference) in a layer the file writes, and every required profile
        field mapped (a line that leaves one empty goes the planner's way, see ``stage``)."""
        if dialect_name() != "postgresql" or self.collection_keys:
            return False  # a subprofile found by a collection's key is updated line by line
        layers = {None} | {owner for _c, kind, _k, _co, owner in self.cells if kind == "collection"}
        if any(self.rules[layer].checked for layer in layers):
            return False
        mapped = {key for _c, kind, key, _co, _o in self.cells if kind == "field"}
        return all(required.key in mapped for required in self.rules[None].required)

    def prepare_merge(self) -> None:
        """The run's ``BulkMerge`` statement (once per run)."""
        first = self.key_fields[0] if self.key_fields else None
        self.merge = import_staging.BulkMerge(
            self.account.id,
            self.schema.database_id,
            self.key_fields,
            [key for _column, kind, key, _coercer, _owner in self.cells if kind == "field"],
            key_indexed=bool(first and (first.indexed or first.unique)),
            on_match=self.on_match,
            on_no_match=self.on_no_match,
            defaults=dict(self.rules[None].defaults),
            collections=len(self.schema.collections),
        )
        fields = [
            (column, key, coercer.pair, key in {f.key for f in self.key_fields})
            for column, kind, key, coercer, _owner in self.cells
            if kind == "field"
        ]
        # In jsonb's own key order (shorter keys first), so that PostgreSQL finds each staged object
        # already sorted when it parses it; a line's errors keep the order of its cells (as the planner reports them).
        self.field_cells = sorted(fields, key=lambda cell: (len(cell[1]), cell[1]))
        self.cell_order = {column: position for position, (column, *_rest) in enumerate(self.cells)}
        self.other_cells = [cell for cell in self.cells if cell[1] != "field"]
        self.required_keys = frozenset(required.key for required in self.rules[None].required)
        # A new profile's event is written as staged unless field defaults or interests add to its values.
        self.changes_in_python = not self.rules[None].defaults and not any(
            kind == "interest" for _c, kind, _k, _co, _o in self.cells
        )

    def stage(self, rows: list[Row]) -> tuple[import_staging.StagedLines, list[LineResult]] | None:
        """Validate a batch for the set-based path: (staged lines, rejected lines) — or None when a line's
        outcome depends on what it matches (two lines with one key, an empty required field, an invalid
        subprofile on a line a policy may skip): then the batch goes through ``plan`` instead."""
        staged: list[import_staging.StagedLine] = []
        rejected: list[LineResult] = []
        seen: set[tuple] = set()
        leave = self.on_empty == "leave"
        may_skip = self.on_match == "skip" or self.on_no_match == "ignore"
        for row in rows:
            cells = row.values
            if cells is None:
                rejected.append(LineResult(row.line, "reject", errors=[("", "", row.error)]))
                continue
            members, changes, errors, keys, cleared = [], [], [], {}, []
            for column, key, pair, is_key in self.field_cells:
                raw = cells.get(column)
                if raw is None:
                    continue
                try:
                    value, member, change = pair(raw)
                except FieldValueError as error:
                    errors.append((column, raw, str(error)))
                    if is_key:
                        keys[key] = error
                    continue
                if is_key:
                    keys[key] = value
                if member:
                    members.append(member)
                    changes.append(change)
                elif not leave:
                    cleared.append(key)
            extra = self._extra(row, cleared, errors) if self.other_cells or cleared else None
            line_key = self._staged_key(cells, keys, errors)
            if errors:
                if len(errors) > 1:
                    errors.sort(key=lambda error: self.cell_order.get(error[0], len(self.cell_order)))
                rejected.append(LineResult(row.line, "reject", errors=errors))
                continue
            if self.required_keys and not all(self._given(cells, required) for required in self.required_keys):
                return None
            if isinstance(extra, LineRejected):
                if may_skip:
                    return None
                rejected.append(LineResult(row.line, "reject", errors=extra.errors))
                continue
            if line_key is not None:
                if line_key in seen:
                    return None
                seen.add(line_key)
            created = '{"fields":{' + ",".join(changes) + '},"interests":{}}' if self.changes_in_python else None
            staged.append((row.line, "{" + ",".join(members) + "}", created, extra))
        return import_staging.StagedLines.of(staged), rejected

    def _given(self, cells: dict[str, str], key: str) -> bool:
        """Whether the line gives field ``key`` a value (its cell is not empty)."""
        column = next(column for column, field_key, _pair, _is_key in self.field_cells if field_key == key)
        return bool((cells.get(column) or "").strip())

    def _staged_key(self, cells: dict[str, str], keys: dict[str, Any], errors: list) -> tuple | None:
        """The line's key (as ``_compute_key`` has it); a bad or empty key field makes its error the only one."""
        if not self.key_parts:
            return None
        literals = []
        for key_field, column, _coercer, literal in self.key_parts:
            value = keys.get(key_field.key)
            raw = cells.get(column, "")
            if isinstance(value, FieldValueError):
                errors[:] = [(column, raw, str(value))]
                return None
            if value is None or isinstance(value, list):
                errors[:] = [(column, raw, _("Key field %(name)s is empty.", name=key_field.name))]
                return None
            literals.append(literal(str(value)))
        return tuple(literals)

    def _extra(self, row: Row, cleared: list[str], errors: list) -> str | LineRejected | None:
        """The line's cleared fields, interest changes and subprofile as JSON (None when it has none);
        cell errors are added to ``errors``; a subprofile the collection's rules refuse is returned."""
        cells, leave = row.values, self.on_empty == "leave"
        assert cells is not None, "stage() rejects a line without values first"
        on: list[int] = []
        off: list[int] = []
        subs: dict[int, dict[str, Any]] = {}
        for column, kind, key, coercer, owner in self.other_cells:
            raw = cells.get(column)
            if raw is None:
                continue
            empty = not raw.strip()
            if kind == "collection":
                if not empty:
                    try:
                        subs.setdefault(owner, {})[key] = coercer(raw)
                    except FieldValueError as error:
                        errors.append((column, raw, str(error)))
                continue
            if empty and leave:
                continue
            flag = parse_flag(raw)
            if flag is False:
                on, off = [i for i in on if i != owner.id], [*off, owner.id]
            elif flag is True:
                on, off = [*on, owner.id], [i for i in off if i != owner.id]
            else:
                errors.append((column, raw, _("Interest %(name)s must be yes or no (1 or 0).", name=owner.name)))
        extra: dict[str, Any] = {}
        if cleared:
            extra["clear"] = cleared
        if on or off:
            extra["on"], extra["off"] = on, off
        if subs and not errors:
            try:
                extra["subs"] = {
                    str(owner): self._merge(row, owner, values, None, None) for owner, values in subs.items()
                }
            except LineRejected as rejected:
                return rejected
        return import_staging.encode_json(extra) if extra else None


def _key_literal(value: Any) -> str | None:
    """A collection key value as matching compares it (text case-insensitively); None when empty."""
    return None if value is None or value == "" else str(value).lower()


def plan_rows(planner: Planner, rows: list[Row]) -> list[LineResult]:
    planner.load(rows)
    return [planner.plan(row) for row in rows]
