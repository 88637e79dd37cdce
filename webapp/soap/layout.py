"""Copernica's message layout, derived from the flat services: one ``parameters`` in, one ``result`` out.

Copernica's WSDL (as its published Java, C# and Node clients use it) gives every operation ONE input part
``parameters`` of type ``input_<Method>`` and ONE output part ``result`` of type ``Result``; on the wire::

    <Account_createDatabase><parameters><name>…</name></parameters></Account_createDatabase>
    <Account_createDatabaseResponse><result><database>…</database></result></Account_createDatabaseResponse>

The services (``account.py``, ``database.py``, …) are written once, flat: each ``@rpc`` method takes its
parameters directly and returns one member (``value``, ``database``, …) or a paged list (``start``,
``length``, ``total``, ``items``). ``copernica_service`` derives from such a service one whose methods take
``parameters`` (an ``input_<Method>`` with the flat method's members, in its order) and answer ``result``
(a ``Result`` with the one member filled). Nothing in a flat method changes: a new method (``View_*``, …)
gets Copernica's layout by being in a service that ``SERVICES`` lists. Its return member must be one of
``Result``'s (add it there, and to ``ResultItems`` for a new entity kind in a paged list).

The flat layout stays served for clients generated from Verrijk's earlier WSDL (see ``__init__.py``).
"""

from typing import Any

from spyne import ServiceBase, rpc

from webapp.soap.types import NAMESPACE, Result, ResultItems, _Type

PARAMETERS = "parameters"
RESULT = "result"


def input_type(method: str, in_message) -> type:
    """The ``input_<Method>`` type: the flat method's members, in its order."""
    return type(
        f"input_{method}",
        (_Type,),
        {
            "__type_name__": f"input_{method}",
            "__namespace__": NAMESPACE,
            "_type_info": list(in_message._type_info.items()),
        },
    )


def to_result(answer: Any, out_names: list[str]) -> Result | None:
    """A flat method's answer as a ``Result``: its one member, or the four of a paged list."""
    if len(out_names) == 1:
        name = out_names[0]
        if name not in Result._type_info:
            raise TypeError(f"Result has no member {name!r}: add it to webapp.soap.types.Result")
        return Result(**{name: answer})
    start, length, total, items = answer
    return Result(start=start, length=length, total=total, items=_result_items(items))


def _result_items(items: Any) -> ResultItems | None:
    if items is None:
        return None
    found = {}
    for name in type(items)._type_info:
        if name not in ResultItems._type_info:
            raise TypeError(f"Result items have no member {name!r}: add it to webapp.soap.types.ResultItems")
        found[name] = getattr(items, name, None)
    return ResultItems(**found)


def _derived_method(name: str, descriptor) -> Any:
    member_names = list(descriptor.in_message._type_info.keys())
    out_names = list(descriptor.out_message._type_info.keys())
    flat = descriptor.function

    def method(ctx, parameters):
        arguments = [getattr(parameters, member, None) if parameters is not None else None for member in member_names]
        return to_result(flat(ctx, *arguments), out_names)

    method.__name__ = method.__qualname__ = name
    method.__doc__ = flat.__doc__
    return rpc(input_type(name, descriptor.in_message), _returns=Result, _out_variable_name=RESULT)(method)


def copernica_service(flat_service: type[ServiceBase]) -> type[ServiceBase]:
    """The service with ``flat_service``'s methods in Copernica's layout (same names, same behaviour)."""
    methods = {name: _derived_method(name, d) for name, d in flat_service.public_methods.items()}
    return type(f"{flat_service.__name__}Copernica", (ServiceBase,), methods)
