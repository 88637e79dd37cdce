"""The WSDL under Copernica's names, so that client code generated from Copernica's WSDL fits ours.

Spyne names the service after each service class, the port and port type after the application and an
operation's input type after the operation. Copernica's WSDL, as its published Java (JAX-WS) and C#
examples show, has one service ``POM_SOAP_API`` with port ``POMPort`` of port type ``POMPortType``, input
types ``input_<Method>``, the login structure ``login`` and maps of type ``Map`` holding ``pair`` elements of
type ``Pair``. The element names on the wire (what clients send and parse) are the same either way; this
renames the types and the service description after Spyne wrote them. What stays different is listed in
docs/soap.md.
"""

from lxml import etree

from webapp.soap.layout import PARAMETERS, RESULT

WSDL = "http://schemas.xmlsoap.org/wsdl/"
WSDL_SOAP = "http://schemas.xmlsoap.org/wsdl/soap/"
HTTP_TRANSPORT = "http://schemas.xmlsoap.org/soap/http"
XSD = "http://www.w3.org/2001/XMLSchema"
SERVICE, PORT, PORT_TYPE, BINDING = "POM_SOAP_API", "POMPort", "POMPortType", "POMBinding"
TYPE_NAMES = {"logindata": "login", "map": "Map", "pair": "Pair"}


def copernica_names(document: bytes, *, flat: bool = False) -> bytes:
    """Spyne's WSDL ``document`` with Copernica's service, port, port type and type names.

    In Copernica's layout (``layout.py``) the operations become rpc/literal (``_rpc_parts``); in the ``flat``
    layout the operation's wrapper type is renamed ``input_<Method>``.
    """
    root = etree.fromstring(document, etree.XMLParser(resolve_entities=False, no_network=True))
    tns = root.get("targetNamespace")
    renames = dict(TYPE_NAMES)
    operations = [o.get("name") for o in root.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation")]
    if flat:
        renames.update({name: f"input_{name}" for name in operations})
    else:
        _rpc_parts(root, tns, operations)
    _rename_types(root, tns, renames)
    _one_service(root, tns)
    root.set("name", SERVICE)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _rpc_parts(root, tns: str, operations: list[str]) -> None:
    """Copernica's operations: rpc/literal, one input part ``parameters`` of type ``input_<Method>`` and one
    output part ``result`` of type ``Result``, as its Java, C#, PHP and Node clients use them.

    On the wire this is what Spyne reads and writes for a wrapper ``<Method>`` holding ``parameters`` and a
    ``<Method>Response`` holding ``result`` (Spyne matches members by local name, and the view writes
    ``result`` unqualified, as rpc/literal has part accessors); the wrapper types and elements Spyne declared
    for them are removed from the schema, so generated code has no classes for them.
    """
    prefix = next(p for p, uri in root.nsmap.items() if uri == tns and p)
    wrappers = set(operations) | {f"{name}Response" for name in operations}
    for schema in root.iter(f"{{{XSD}}}schema"):
        if schema.get("targetNamespace") != tns:
            continue
        for node in list(schema):
            if node.tag in (f"{{{XSD}}}element", f"{{{XSD}}}complexType") and node.get("name") in wrappers:
                schema.remove(node)
    for message in root.iterfind(f"{{{WSDL}}}message"):
        name = message.get("name")
        for part in message.iterfind(f"{{{WSDL}}}part"):
            part.attrib.pop("element", None)
            if name in operations:
                part.set("name", PARAMETERS)
                part.set("type", f"{prefix}:input_{name}")
            else:
                part.set("name", RESULT)
                part.set("type", f"{prefix}:Result")
    for operation in root.iterfind(f"{{{WSDL}}}portType/{{{WSDL}}}operation"):
        operation.set("parameterOrder", PARAMETERS)
    for binding in root.iterfind(f"{{{WSDL}}}binding"):
        for node in binding.iter(f"{{{WSDL_SOAP}}}binding", f"{{{WSDL_SOAP}}}operation"):
            node.set("style", "rpc")
        for body in binding.iter(f"{{{WSDL_SOAP}}}body"):
            body.set("namespace", tns)


def _rename_types(root, tns: str, renames: dict[str, str]) -> None:
    for schema in root.iter(f"{{{XSD}}}schema"):
        if schema.get("targetNamespace") != tns:
            continue
        for node in schema.iter(f"{{{XSD}}}complexType", f"{{{XSD}}}simpleType"):
            if node.get("name") in renames:
                node.set("name", renames[node.get("name")])
        for node in schema.iter(f"{{{XSD}}}element", f"{{{XSD}}}extension", f"{{{XSD}}}restriction"):
            for attribute in ("type", "base"):
                prefix, _, local = (node.get(attribute) or "").rpartition(":")
                if local in renames and node.nsmap.get(prefix or None) == tns:
                    node.set(attribute, f"{prefix}:{renames[local]}" if prefix else renames[local])


def _one_service(root, tns: str) -> None:
    """One service, one port, one port type and one binding, named as Copernica names them."""
    prefix = next(p for p, uri in root.nsmap.items() if uri == tns and p)
    for port_type in root.iterfind(f"{{{WSDL}}}portType"):
        port_type.set("name", PORT_TYPE)
    for binding in root.iterfind(f"{{{WSDL}}}binding"):
        binding.set("name", BINDING)
        binding.set("type", f"{prefix}:{PORT_TYPE}")
        for soap_binding in binding.iterfind(f"{{{WSDL_SOAP}}}binding"):
            soap_binding.set("transport", HTTP_TRANSPORT)  # Spyne writes its placeholder outside a WSGI server
    services = root.findall(f"{{{WSDL}}}service")
    for extra in services[1:]:
        root.remove(extra)
    services[0].set("name", SERVICE)
    ports = services[0].findall(f"{{{WSDL}}}port")
    for extra in ports[1:]:
        services[0].remove(extra)
    ports[0].set("name", PORT)
    ports[0].set("binding", f"{prefix}:{BINDING}")
