package main

import (
	"log/slog"

	"github.com/beacon-edge/beacon/drivers"
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
		config.MQTT:             openMQTT,
		config.MQTTS:            openMQTT,
	}
}

// openMQTT returns a nil interface, not a nil *mqtt.Driver inside one,
// when the driver cannot be opened: the gateway tests the interface for nil
// and would otherwise poll a nil driver.
func openMQTT(conn *config.Connection, devices []*config.Device, logger *slog.Logger) (drivers.Driver, error) {
	d, err := mqtt.OpenWith(conn, devices, logger, mqtt.Options{})
	if err != nil {
		return nil, err
	}
	return d, nil
}
