import { Module } from '@nestjs/common';
import { MathController } from './math.controller.js';

@Module({ controllers: [MathController] })
export class WorkerModule {}
