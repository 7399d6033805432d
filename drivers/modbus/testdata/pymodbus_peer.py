#!/usr/bin/env python3
"""A pymodbus peer for the Go tests of drivers/modbus (pymodbus 3.0).

  server      --port N --framer socket|rtu    Modbus TCP (or RTU over TCP) server
  client      --port N --framer socket|rtu    runs every function code against
                                              a server, prints one JSON object
  rtu-server  --fd N                          RTU server on an inherited file
  rtu-client  --fd N                          descriptor (a pseudo-terminal master)

Servers print "READY <port>" once they accept requests. Units 1 and 2 hold
1000 of each table: coil i = (i % 3 == 0), discrete input i = (i % 2 == 0),
holding register i = i, input register i = 1000 + i, and a device
identification with two long regular objects (so that the regular category
needs more than one response).

The rtu-* roles drive pymodbus's RTU framer and PDU classes over the raw
pty file descriptor: Debian's pymodbus serial transport needs pyserial,
which is not installed for /usr/bin/python3.
"""
import argparse
import asyncio
import json
import os
import select
import sys
import time
import types


def _stub_serial_modules():
    """Debian's python3-pymodbus only recommends python3-serial-asyncio, yet
    pymodbus.server and pymodbus.client import serial and serial_asyncio at
    load time. When they are missing, stand-ins let the TCP transports load;
    the serial transport of pymodbus is then unusable (this script does not
    use it)."""
    try:
        import serial  # noqa: F401
        import serial_asyncio  # noqa: F401
        return
    except ImportError:
        pass
    if "serial" not in sys.modules:
        try:
            import serial  # noqa: F401,F811
        except ImportError:
            stub = types.ModuleType("serial")
            stub.SerialException = type("SerialException", (Exception,), {})
            sys.modules["serial"] = stub
    stub = types.ModuleType("serial_asyncio")

    def create_serial_connection(*args, **kwargs):
        raise RuntimeError("pyserial-asyncio is not installed")
    stub.create_serial_connection = create_serial_connection
    sys.modules["serial_asyncio"] = stub


_stub_serial_modules()

from pymodbus.datastore import (ModbusSequentialDataBlock, ModbusServerContext,
                                ModbusSlaveContext)
from pymodbus.device import ModbusControlBlock, ModbusDeviceIdentification
from pymodbus.exceptions import NoSuchSlaveException
from pymodbus.factory import ClientDecoder, ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.pdu import ModbusExceptions
from pymodbus.bit_read_message import ReadCoilsRequest, ReadDiscreteInputsRequest
from pymodbus.bit_write_message import WriteMultipleCoilsRequest, WriteSingleCoilRequest
from pymodbus.mei_message import ReadDeviceInformationRequest
from pymodbus.register_read_message import (ReadHoldingRegistersRequest,
                                            ReadInputRegistersRequest,
                                            ReadWriteMultipleRegistersRequest)
from pymodbus.register_write_message import (WriteMultipleRegistersRequest,
                                             WriteSingleRegisterRequest)

N = 1000


def identity():
    return ModbusDeviceIdentification(info_name={
        "VendorName": "pymodbus-peer",
        "ProductCode": "PM-3",
        "MajorMinorRevision": "3.0",
        "VendorUrl": "https://pymodbus.example",
        "ProductName": "P" * 120,
        "ModelName": "M" * 120,
    })


def context():
    def unit():
        return ModbusSlaveContext(
            co=ModbusSequentialDataBlock(0, [i % 3 == 0 for i in range(N)]),
            di=ModbusSequentialDataBlock(0, [i % 2 == 0 for i in range(N)]),
            hr=ModbusSequentialDataBlock(0, list(range(N))),
            ir=ModbusSequentialDataBlock(0, [1000 + i for i in range(N)]),
            zero_mode=True)
    return ModbusServerContext(slaves={1: unit(), 2: unit()}, single=False)


async def serve_tcp(port, framer):
    from pymodbus.server.async_io import ModbusTcpServer
    server = ModbusTcpServer(context(), framer=framer, identity=identity(),
                             address=("127.0.0.1", port), allow_reuse_address=True)
    task = asyncio.create_task(server.serve_forever())
    await server.serving
    bound = server.server.sockets[0].getsockname()[1]
    print("READY", bound, flush=True)
    await task


def requests(unit):
    """The requests the client roles send, by case name."""
    return [
        ("fc01", ReadCoilsRequest(0, 10, unit=unit)),
        ("fc02", ReadDiscreteInputsRequest(0, 10, unit=unit)),
        ("fc03", ReadHoldingRegistersRequest(0, 5, unit=unit)),
        ("fc04", ReadInputRegistersRequest(0, 5, unit=unit)),
        ("fc05", WriteSingleCoilRequest(20, True, unit=unit)),
        ("fc06", WriteSingleRegisterRequest(30, 777, unit=unit)),
        ("fc15", WriteMultipleCoilsRequest(40, [True, False, True], unit=unit)),
        ("fc16", WriteMultipleRegistersRequest(50, [1, 2, 3], unit=unit)),
        ("fc23", ReadWriteMultipleRegistersRequest(read_address=50, read_count=3, write_address=51,
                                                   write_registers=[9], unit=unit)),
        ("fc43_basic", ReadDeviceInformationRequest(read_code=1, object_id=0, unit=unit)),
        ("fc43_specific", ReadDeviceInformationRequest(read_code=4, object_id=3, unit=unit)),
        ("exc_address", ReadHoldingRegistersRequest(995, 10, unit=unit)),
        ("exc_value", ReadHoldingRegistersRequest(0, 126, unit=unit)),
        ("exc_unit", ReadHoldingRegistersRequest(0, 1, unit=77)),
    ]


def summarize(resp):
    """A response as JSON-able values."""
    if resp is None:
        return {"error": "no response"}
    if isinstance(resp, Exception):
        return {"error": str(resp)}
    if resp.isError():
        return {"exception": getattr(resp, "exception_code", None)}
    out = {"function": resp.function_code}
    if hasattr(resp, "bits"):
        out["bits"] = [bool(b) for b in resp.bits]
    if hasattr(resp, "registers"):
        out["registers"] = list(resp.registers)
    if hasattr(resp, "information"):
        out["objects"] = {str(k): v.decode() if isinstance(v, bytes) else v
                          for k, v in resp.information.items()}
        out["more_follows"] = resp.more_follows
        out["next_object_id"] = resp.next_object_id
        out["conformity"] = resp.conformity
    if hasattr(resp, "address"):
        out["address"] = resp.address
    if hasattr(resp, "value"):
        out["value"] = resp.value
    if hasattr(resp, "count"):
        out["count"] = resp.count
    return out


def regular_id(send, unit):
    """Reads the regular identification, following 'more follows'."""
    objects, oid, rounds = {}, 0, 0
    while rounds < 10:
        rounds += 1
        r = send(ReadDeviceInformationRequest(read_code=2, object_id=oid, unit=unit))
        s = summarize(r)
        if "objects" not in s:
            return s
        objects.update(s["objects"])
        if not s["more_follows"]:
            break
        oid = s["next_object_id"]
    return {"objects": objects, "rounds": rounds}


def run_tcp_client(port, framer):
    from pymodbus.client import ModbusTcpClient
    client = ModbusTcpClient("127.0.0.1", port=port, framer=framer, timeout=1, retries=0)
    if not client.connect():
        print(json.dumps({"error": "connect failed"}), flush=True)
        return 1

    def send(req):
        try:
            return client.execute(req)
        except Exception as exc:  # a timeout is an answer the test checks
            return exc
    out, slow = {}, {}
    for name, req in requests(1):
        start = time.monotonic()
        out[name] = summarize(send(req))
        if time.monotonic() - start > 0.5:
            slow[name] = round(time.monotonic() - start, 3)
    out["fc43_regular"] = regular_id(send, 1)
    out["slow"] = slow  # seconds, for requests slower than 0.5 s
    client.close()
    print(json.dumps(out), flush=True)
    return 0


def rtu_server(fd):
    ctx = context()
    ModbusControlBlock().Identity.update(identity())
    framer = ModbusRtuFramer(ServerDecoder())

    def execute(request):
        try:
            response = request.execute(ctx[request.unit_id])
        except NoSuchSlaveException:
            return
        except Exception:  # pylint: disable=broad-except
            response = request.doException(ModbusExceptions.SlaveFailure)
        response.transaction_id = request.transaction_id
        response.unit_id = request.unit_id
        os.write(fd, framer.buildPacket(response))

    print("READY", fd, flush=True)
    while True:
        data = os.read(fd, 512)
        if not data:
            return 0
        framer.processIncomingPacket(data, execute, unit=[1, 2], single=False)


def rtu_client(fd):

    def send(req):
        framer = ModbusRtuFramer(ClientDecoder())
        got = []
        os.write(fd, framer.buildPacket(req))
        deadline = 2.0
        while not got:
            ready, _, _ = select.select([fd], [], [], deadline)
            if not ready:
                return None
            framer.processIncomingPacket(os.read(fd, 512), got.append, unit=req.unit_id)
        return got[0]
    out = {}
    for name, req in requests(1):
        if name == "exc_unit":
            continue  # nobody answers on a serial line; would only wait
        out[name] = summarize(send(req))
    out["fc43_regular"] = regular_id(send, 1)
    print(json.dumps(out), flush=True)
    return 0


def main():
    p = argparse.ArgumentParser()
    p.add_argument("role", choices=["server", "client", "rtu-server", "rtu-client"])
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--framer", choices=["socket", "rtu"], default="socket")
    p.add_argument("--fd", type=int)
    a = p.parse_args()
    framer = ModbusRtuFramer if a.framer == "rtu" else ModbusSocketFramer
    if a.role == "server":
        asyncio.run(serve_tcp(a.port, framer))
        return 0
    if a.role == "client":
        return run_tcp_client(a.port, framer)
    if a.role == "rtu-server":
        return rtu_server(a.fd)
    return rtu_client(a.fd)


if __name__ == "__main__":
    sys.exit(main())
