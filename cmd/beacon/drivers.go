package main

import (
	"github.com/beacon-edge/beacon/drivers/modbus"
	"github.com/beacon-edge/beacon/drivers/mqtt"
	"github.com/beacon-edge/beacon/gateway"
	"github.com/beacon-edge/beacon/gateway/config"
)

// driverFactories lists the protocol drivers built into this binary.
func driverFactories() map[config.Protocol]gateway.DriverFactory {
	return map[config.Protocol]gateway.DriverFactory{
		config.ModbusTCP:        modbus.Open,
		config.ModbusRTU:        modbus.Open,
		config.ModbusRTUOverTCP: modbus.Open,
		config.MQTT:             mqtt.Open, config.MQTTS: mqtt.Open,
	}
}
