import 'reflect-metadata';
import { useKafkaTestDriver } from './integration/support/kafka-test-driver.js';

useKafkaTestDriver();
