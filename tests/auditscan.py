"""Every audit action name src/ can write, found statically (tests/test_audit_vocabulary.py).

Starting from ``custody.services.record(action, ...)``, each call's action argument is resolved:
a string, an f-string or ``+`` of resolvable parts, ``a if c else b``, ``a or b``, a
``{...}[key]`` of strings, a local, module-level or imported constant, ``Model.Choices.X``. Where
it resolves to a parameter of the enclosing function (``def _refuse(request, case, action)``,
``f"records.{action}"``), that function becomes a sink too and its callers are resolved the same
way (a parameter's default counts where a call leaves it out; in ``action or perm``, ``perm`` only
where the call gives no ``action``), until nothing new is found. What stays unknown is a pattern
("records.{}") or, with no text at all, a problem.
"""
from __future__ import annotations

import ast
import itertools
from dataclasses import dataclass, field
from pathlib import Path

PKG = "bodycam"
BASE_SINKS = {("bodycam.custody.services", "record"): "action"}


@dataclass(frozen=True)
class Param:
    func: tuple  # (module, qualname) of the function whose parameter this is
    name: str


@dataclass(frozen=True)
class Slot:
    name: str  # a sink's parameter, filled from each call


@dataclass(frozen=True)
class Value:
    parts: tuple  # str | Param | None (unknown)
    guards: frozenset = frozenset()  # Params that must be unset (None) for this value


@dataclass
class Func:
    module: str
    qualname: str
    node: ast.AST
    parent: "Func | None"
    params: list = field(default_factory=list)
    defaults: dict = field(default_factory=dict)
    assigns: dict = field(default_factory=dict)


def module_name(path: Path, root: Path) -> str:
    rel = path.relative_to(root).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


class Index:
    def __init__(self, src: Path):
        self.funcs: dict[tuple, Func] = {}
        self.modules: dict[str, ast.Module] = {}
        self.imports: dict[str, dict[str, str]] = {}  # module -> local name -> dotted target
        self.module_assigns: dict[str, dict[str, list]] = {}
        self.calls: list[tuple[str, Func | None, ast.Call]] = []
        for path in sorted((src / PKG).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            mod = module_name(path, src)
            tree = ast.parse(path.read_text(), str(path))
            self.modules[mod] = tree
            self._imports(mod, tree, is_pkg=path.name == "__init__.py")
            self.module_assigns[mod] = _assigns(tree.body)
            self._walk(mod, tree, None, "")

    def _imports(self, mod, tree, is_pkg):
        table = self.imports.setdefault(mod, {})
        pkg = mod if is_pkg else mod.rpartition(".")[0]
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = pkg.split(".")[: len(pkg.split(".")) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for a in node.names:
                    table[a.asname or a.name] = f"{base}.{a.name}"
            elif isinstance(node, ast.Import):
                for a in node.names:
                    table[a.asname or a.name.split(".")[0]] = a.name if a.asname else a.name.split(".")[0]

    def _walk(self, mod, node, func, prefix):
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                q = f"{prefix}{child.name}"
                f = Func(mod, q, child, func)
                args = child.args
                pos = args.posonlyargs + args.args
                f.params = [a.arg for a in pos] + [a.arg for a in args.kwonlyargs]
                for a, d in zip(pos[len(pos) - len(args.defaults):], args.defaults):
                    f.defaults[a.arg] = d
                for a, d in zip(args.kwonlyargs, args.kw_defaults):
                    if d is not None:
                        f.defaults[a.arg] = d
                f.assigns = _assigns(ast.walk(child), skip_nested=child)
                self.funcs[(mod, q)] = f
                self._walk(mod, child, f, q + ".")
            elif isinstance(child, ast.ClassDef):
                self._walk(mod, child, func, f"{prefix}{child.name}.")
            else:
                if isinstance(child, ast.Call):
                    self.calls.append((mod, func, child))
                self._walk(mod, child, func, prefix)

    def callee(self, mod, func: Func | None, call: ast.Call) -> tuple | None:
        f = call.func
        if isinstance(f, ast.Name):
            scope = func
            while scope is not None:  # a nested function of an enclosing one
                key = (mod, f"{scope.qualname}.{f.id}")
                if key in self.funcs:
                    return key
                scope = scope.parent
            if (mod, f.id) in self.funcs:
                return (mod, f.id)
            target = self.imports[mod].get(f.id)
            return self.canonical(tuple(target.rsplit(".", 1))) if target and "." in target else None
        if isinstance(f, ast.Attribute) and isinstance(f.value, ast.Name):
            target = self.imports[mod].get(f.value.id)
            return self.canonical((target, f.attr)) if target else None
        return None

    def canonical(self, key: tuple) -> tuple:
        """Where a re-exported function is defined (``from .policy import audit_denied``)."""
        for _ in range(10):
            if key in self.funcs or key[0] not in self.imports:
                return key
            target = self.imports[key[0]].get(key[1])
            if not target or "." not in target:
                return key
            key = tuple(target.rsplit(".", 1))
        return key

    # -- resolving an expression to action values ---------------------------------------------
    def resolve(self, expr, mod, func: Func | None, depth=0) -> list[Value]:
        if depth > 12 or expr is None:
            return [Value((None,))]
        if isinstance(expr, ast.Constant):
            return [Value((expr.value,))] if isinstance(expr.value, str) else [Value(())] if expr.value is None \
                else [Value((None,))]
        if isinstance(expr, ast.JoinedStr):
            pieces = []
            for v in expr.values:
                if isinstance(v, ast.Constant):
                    pieces.append([Value((v.value,))])
                else:
                    pieces.append(self.resolve(v.value, mod, func, depth + 1))
            return [_concat(combo) for combo in itertools.product(*pieces)]
        if isinstance(expr, ast.BinOp) and isinstance(expr.op, ast.Add):
            return [_concat(c) for c in itertools.product(self.resolve(expr.left, mod, func, depth + 1),
                                                            self.resolve(expr.right, mod, func, depth + 1))]
        if isinstance(expr, ast.Subscript) and isinstance(expr.value, ast.Dict):  # {k: "a.b", ...}[key]
            return [v for x in expr.value.values for v in self.resolve(x, mod, func, depth + 1)]
        if isinstance(expr, ast.IfExp):
            return self.resolve(expr.body, mod, func, depth + 1) + self.resolve(expr.orelse, mod, func, depth + 1)
        if isinstance(expr, ast.BoolOp) and isinstance(expr.op, ast.Or):
            out, guards = [], frozenset()
            for v in expr.values:
                vals = self.resolve(v, mod, func, depth + 1)
                out += [Value(x.parts, x.guards | guards) for x in vals]
                params = {p for x in vals for p in x.parts if isinstance(p, Param)}
                if len(vals) == 1 and len(vals[0].parts) == 1 and params:
                    guards = guards | params  # `a or b`: b is used only when a is not given
            return out
        if isinstance(expr, ast.Attribute):
            return self.attribute(expr, mod, depth)
        if isinstance(expr, ast.Name):
            scope = func
            while scope is not None:
                if expr.id in scope.assigns:
                    vals = []
                    for rhs in scope.assigns[expr.id]:
                        if _mentions(rhs, expr.id) and expr.id in scope.params:
                            vals += self.resolve(rhs, mod, _without(scope, expr.id), depth + 1)
                        else:
                            vals += self.resolve(rhs, mod, scope, depth + 1)
                    return vals
                if expr.id in scope.params:
                    return [Value((Param((scope.module, scope.qualname), expr.id),))]
                scope = scope.parent
            if expr.id in self.module_assigns[mod]:
                return [v for rhs in self.module_assigns[mod][expr.id] for v in self.resolve(rhs, mod, None, depth + 1)]
            target = self.imports[mod].get(expr.id)
            if target and "." in target:
                tmod, name = target.rsplit(".", 1)
                if tmod in self.module_assigns and name in self.module_assigns[tmod]:
                    return [v for rhs in self.module_assigns[tmod][name] for v in self.resolve(rhs, tmod, None, depth + 1)]
        return [Value((None,))]

    def attribute(self, expr: ast.Attribute, mod: str, depth: int) -> list[Value]:
        """``module.NAME``, ``Model.Choices.MEMBER`` (a Django choices value) or ``Class.NAME``."""
        chain = []
        node = expr
        while isinstance(node, ast.Attribute):
            chain.insert(0, node.attr)
            node = node.value
        if not isinstance(node, ast.Name):
            return [Value((None,))]
        target = self.imports[mod].get(node.id)
        if target in self.modules:  # a module alias: module.NAME
            tmod, rest = target, chain
        elif target and "." in target:
            tmod, first = target.rsplit(".", 1)
            rest = [first] + chain
        else:
            tmod, rest = mod, [node.id] + chain
        if tmod not in self.modules:
            return [Value((None,))]
        if len(rest) == 1:  # a module-level name there (assigned or imported)
            return self.resolve(ast.Name(rest[0], ast.Load()), tmod, None, depth + 1)
        body, choices = self.modules[tmod].body, False
        for name in rest[:-1]:
            cls = next((n for n in body if isinstance(n, ast.ClassDef) and n.name == name), None)
            if cls is None:
                return [Value((None,))]
            body = cls.body
            choices = any(isinstance(b, (ast.Name, ast.Attribute)) and ast.unparse(b).endswith("Choices")
                          for b in cls.bases)
        rhs = _assigns(body).get(rest[-1], [])
        if choices:
            rhs = [r.elts[0] if isinstance(r, ast.Tuple) else r for r in rhs]
        return [v for r in rhs for v in self.resolve(r, tmod, None, depth + 1)] or [Value((None,))]

    def actions(self):
        """(names {name: [where]}, patterns {"a.{}": [where]}, problems [where: argument])."""
        # function -> {(the action as text and Slots (its parameters), parameters that must be unset)}
        sinks: dict[tuple, set[tuple]] = {k: {((Slot(v),), frozenset())} for k, v in BASE_SINKS.items()}
        changed = True
        while changed:
            changed = False
            names, templates, problems = {}, {}, []
            for mod, func, call in self.calls:
                key = self.callee(mod, func, call)
                if key not in sinks:
                    continue
                where = f"{mod.replace('.', '/')}.py:{call.lineno}"
                target = self.funcs.get(key)
                for template, unset in list(sinks[key]):
                    if any(_given(call, target, g) for g in unset):
                        continue
                    pieces, args = [], []
                    for part in template:
                        if isinstance(part, Slot):
                            arg = _arg(call, target, part.name)
                            if arg is None:
                                break
                            args.append(arg)
                            pieces.append(self.resolve(arg, mod, func))
                        else:
                            pieces.append([Value((part,))])
                    else:
                        for combo in itertools.product(*pieces):
                            v = _concat(combo)
                            changed |= self._note(v, sinks, names, templates, problems, where, args)
        self.sinks = sinks
        return names, templates, problems

    def _note(self, v: Value, sinks, names, templates, problems, where, args) -> bool:
        parts = v.parts
        if not parts:
            return False
        params = [p for p in parts if isinstance(p, Param)]
        if params and None not in parts and len({p.func for p in params}) == 1:
            owner = params[0].func  # the enclosing function forwards its parameter(s): a sink too
            spec = (tuple(Slot(p.name) if isinstance(p, Param) else p for p in parts),
                    frozenset(g.name for g in v.guards if g.func == owner))
            if spec in sinks.setdefault(owner, set()):
                return False
            sinks[owner].add(spec)
            return True
        if all(isinstance(p, str) for p in parts):
            names.setdefault("".join(parts), []).append(where)
        elif any(isinstance(p, str) and p for p in parts):
            templates.setdefault("".join(p if isinstance(p, str) else "{}" for p in parts), []).append(where)
        else:
            problems.append(f"{where}: {', '.join(ast.unparse(a) for a in args)}")
        return False

    def unmatched(self, names=("record", "record_request", "audit_denied")) -> list[str]:
        """Calls named like the audit writers that the scan did not follow (after ``actions``)."""
        out = []
        for mod, func, call in self.calls:
            f = call.func
            short = f.id if isinstance(f, ast.Name) else f.attr if isinstance(f, ast.Attribute) else ""
            if short in names and self.callee(mod, func, call) not in self.sinks:
                out.append(f"{mod.replace('.', '/')}.py:{call.lineno}: {ast.unparse(f)}")
        return out


def _given(call, target, name) -> bool:
    arg = _arg(call, target, name, use_default=False)
    return arg is not None and not (isinstance(arg, ast.Constant) and arg.value is None)


def _arg(call: ast.Call, target: Func | None, param: str, use_default=True):
    for k in call.keywords:
        if k.arg == param:
            return k.value
    if target is None:
        return None
    params = target.params
    if param in params:
        i = params.index(param)
        if i < len(call.args) and not any(isinstance(a, ast.Starred) for a in call.args[:i + 1]):
            return call.args[i]
    return target.defaults.get(param) if use_default else None


def _concat(values) -> Value:
    parts, guards = [], frozenset()
    for v in values:
        for p in v.parts:
            if isinstance(p, str) and parts and isinstance(parts[-1], str):
                parts[-1] += p
            else:
                parts.append(p)
        guards |= v.guards
    return Value(tuple(parts), guards)


def _mentions(expr, name) -> bool:
    return any(isinstance(n, ast.Name) and n.id == name for n in ast.walk(expr))


def _without(scope: Func, name: str) -> Func:
    f = Func(scope.module, scope.qualname, scope.node, scope.parent, scope.params, scope.defaults,
             {k: v for k, v in scope.assigns.items() if k != name})
    return f


def _assigns(nodes, skip_nested=None) -> dict:
    out: dict[str, list] = {}
    for n in nodes:
        if isinstance(n, ast.Assign):
            for t in n.targets:
                if isinstance(t, ast.Name):
                    out.setdefault(t.id, []).append(n.value)
                elif isinstance(t, ast.Tuple) and isinstance(n.value, ast.Tuple) and len(t.elts) == len(n.value.elts):
                    for te, ve in zip(t.elts, n.value.elts):
                        if isinstance(te, ast.Name):
                            out.setdefault(te.id, []).append(ve)
        elif isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name) and n.value is not None:
            out.setdefault(n.target.id, []).append(n.value)
    return out
